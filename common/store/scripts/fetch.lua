#!lua
-- fetch: take up to N pending jobs and record each under a lease, in one atomic step.
-- A job is never out of its queue without being in the lease set (at-least-once).
-- KEYS[1] lease zset, KEYS[2] set of paused queues, KEYS[3] rate limits hash (queue name ->
--   "limit:interval_ms"), then per served queue, in the order the worker serves them:
--   (queue list, wake list, queue stats hash, rate zset)
-- ARGV[1] the key prefix, ARGV[2] lease ms, ARGV[3] worker id, ARGV[4]
--   most jobs to take, ARGV[5..] the queue names, in KEYS order
-- Times are Redis' clock (TIME): one clock for every machine.
-- Within a queue, higher priorities go first, FIFO within one (lib/queue.lua).
-- A queue with a rate limit starts at most limit jobs in any interval_ms, across all
-- workers: its rate zset holds the starts of the last interval (member id:token, score
-- ms), trimmed here.
-- Returns an array: first the list of ids dropped because their job hash is gone (so the
-- worker can log them), then the ms until a served queue that holds jobs but reached its
-- rate limit may start the next (0: none is held back), then 11 entries per job taken:
--   id, token, attempts, type, payload, timeout_ms, max_attempts, queue, wait_ms,
--   traceparent ('' for none), secrets (the job's msgpack map, '' for none)
-- wait_ms: how long the job was runnable before now, from ready_at (set when it became
--   pending again: promoted, requeued, recovered, retried from dead) or created_at
-- Every state change is published on '<job key>:events' ('running' here; see
-- docs/redis.md for the messages), for GET /jobs/{id}/events.
-- Job keys are built from the popped id and ARGV[1] (the one exception to "keys in
-- KEYS[]", as in BullMQ's moveToActive): <p>{<id mod 16384>}:job:<id> (lib/keys.lua
-- jq_id_key), the tag of the id's bucket, which docs/cluster.md makes its queue's.
-- @include keys
-- @include queue
-- @include events
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = {}
local out = {dropped, 0}
local want = tonumber(ARGV[4])
local deadline = now + tonumber(ARGV[2])
-- as text once per call: Redis formats a Lua number given to a command with %.17g each time
local now_s, deadline_s = string.format('%d', now), string.format('%d', deadline)
local got = 0
local paused = {}
local limited = {} -- queues that reached their rate limit
local limits = redis.call('HMGET', KEYS[3], unpack(ARGV, 5))
-- Room left in queue q's current window, or nil when it has no rate limit.
local function room(q)
  local limit, interval = string.match(limits[q] or '', '^(%d+):(%d+)$')
  if not limit then return nil end
  local rk = KEYS[3 + 4 * q]
  redis.call('ZREMRANGEBYSCORE', rk, '-inf', now - tonumber(interval))
  return tonumber(limit) - redis.call('ZCARD', rk), rk, tonumber(interval)
end
for i = 4, #KEYS, 4 do
  local q = (i - 4) / 4 + 1
  paused[i] = redis.call('SISMEMBER', KEYS[2], ARGV[4 + q]) == 1
  local taken = 0
  local left, rk, interval = room(q)
  local starts = {}
  local lists, levels = jq_lists(KEYS[i])
  local li = 1
  -- the queue's event channel (GET /ws) only when someone follows it: one NUMSUB per
  -- queue and call instead of a PUBLISH per job for nobody
  local qch = KEYS[i] .. JQ_SUFFIX.events
  local followed = redis.call('PUBSUB', 'NUMSUB', qch)[2] > 0
  while got < want and not paused[i] and (not left or left > 0) do
    local id = redis.call('RPOP', lists[li])
    while not id and li < #lists do
      li = li + 1
      id = redis.call('RPOP', lists[li])
    end
    if not id then break end
    local jk = jq_id_key(ARGV[1], JQ_KEY.job, id)
    local f = redis.call('HMGET', jk, 'state', 'type', 'payload', 'timeout_ms', 'max_attempts',
                        'queue', 'token', 'attempts', 'created_at', 'ready_at', 'traceparent',
                        'secrets')
    if f[1] == 'pending' then
      local token = tonumber(f[7] or '0') + 1
      local attempts = tonumber(f[8] or '0') + 1
      redis.call('HSET', jk, 'state', 'running', 'worker', ARGV[3], 'started_at', now_s,
                 'token', token, 'attempts', attempts)
      redis.call('ZADD', KEYS[1], deadline_s, id)
      jq_event(jk, followed and qch, id, 'running')
      out[#out + 1] = id
      out[#out + 1] = token
      out[#out + 1] = attempts
      out[#out + 1] = f[2] or ''
      out[#out + 1] = f[3] or ''
      out[#out + 1] = f[4] or '0'
      out[#out + 1] = f[5] or '3' -- defaults are not stored (see enqueue)
      out[#out + 1] = f[6] or 'default'
      out[#out + 1] = now - tonumber(f[10] or f[9] or now) -- wait_ms
      out[#out + 1] = f[11] or '' -- the request's W3C traceparent
      out[#out + 1] = f[12] or '' -- the job's secrets, for its handler only
      got = got + 1
      taken = taken + 1
      if left then
        left = left - 1
        starts[#starts + 1] = now_s
        starts[#starts + 1] = id .. ':' .. token
      end
    elseif not f[1] then
      dropped[#dropped + 1] = id
    end
    -- any other state (cancelled while queued): not runnable, dropped
  end
  -- levels this fetch emptied leave the index
  for k = 1, math.min(li, #levels) do
    if k < li or redis.call('LLEN', lists[k]) == 0 then
      redis.call('ZREM', jq_levels_key(KEYS[i]), levels[k])
    end
  end
  if taken > 0 then
    redis.call('HINCRBY', KEYS[i + 2], 'running', taken)
  end
  if #starts > 0 then
    redis.call('ZADD', rk, unpack(starts))
    redis.call('PEXPIRE', rk, interval)
  end
  if left and left <= 0 and not paused[i] and jq_has_jobs(KEYS[i]) then
    -- held back: tell the worker when the oldest start of the window leaves it
    limited[i] = true
    local oldest = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
    local wait = math.max(1, tonumber(oldest[2] or now) + interval - now)
    if out[2] == 0 or wait < out[2] then
      out[2] = wait
    end
  end
end
-- pass the wake-up on to the next idle worker while any served, unpaused queue holds jobs
-- it may start now (one held back by its rate limit is fetched again when its window
-- moves, by the workers that were told when)
for i = 4, #KEYS, 4 do
  if not paused[i] and not limited[i] and jq_has_jobs(KEYS[i]) and
     redis.call('LLEN', KEYS[i + 1]) == 0 then
    redis.call('LPUSH', KEYS[i + 1], 1)
  end
end
return out
