#!lua
-- promote: move scheduled jobs whose time has come into their queues, in bounded batches.
-- KEYS[1] scheduled zset (id -> run at ms)
-- ARGV[1] key prefix (queue, wake and job keys are named from it and the job's queue, as
--   fetch names job keys), ARGV[2] most jobs to move
-- Each job joins the end of the line of its priority (lib/queue.lua).
-- Returns {moved, ms until the next is due or -1 when none is scheduled}.
-- @include keys
-- @include queue
-- @include events
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local jk = jq_id_key(ARGV[1], JQ_KEY.job, id)
  local f = redis.call('HMGET', jk, 'state', 'queue', 'priority', 'run_at')
  f[2] = f[2] or 'default' -- not stored at its default
  if f[1] == 'scheduled' then
    -- runnable since its due time (what the wait-time histogram measures from)
    redis.call('HSET', jk, 'state', 'pending', 'ready_at', f[4] or now)
    redis.call('HINCRBY', ARGV[1] .. JQ_KEY.queue_stats .. f[2], 'scheduled', -1)
    -- run_at stays: GET /jobs/{id} shows when the job was due after it started
    jq_event(jk, ARGV[1] .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id, 'pending')
    jq_push(ARGV[1] .. JQ_KEY.queue .. f[2], jq_prio(f[3]), id, 'LPUSH')
    local wake = ARGV[1] .. JQ_KEY.wake .. f[2]
    if redis.call('LLEN', wake) == 0 then
      redis.call('LPUSH', wake, 1)
    end
    moved = moved + 1
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then
  return {moved, math.max(0, tonumber(nxt[2]) - now)}
end
return {moved, -1}
