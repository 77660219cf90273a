#!lua
-- reap: give back the jobs of dead workers and of expired leases.
-- KEYS[1] lease zset, KEYS[2] workers zset (id -> last beat), KEYS[3] dead zset,
--   KEYS[4] the reapers' state (hash: at, turn, healthy_since, run_id),
--   KEYS[5] what the reapers saw of each worker (hash: id -> "<last beat> <turns unmoved>"),
--   KEYS[6] the workers' beat periods (hash: id -> ms, written by heartbeat)
-- ARGV[1] the caller's beat (ms), ARGV[2] a worker is dead when its last beat is older than
--   this (ms), ARGV[3] key prefix (job, queue, wake and worker keys are built from it, as
--   fetch does), ARGV[4] most recoveries of one job before it is failed as poison,
--   ARGV[5] most jobs per call, ARGV[6] the grace after a stall (ms), ARGV[7] keep failed ms,
--   ARGV[8] most jobs kept in the dead set (as finish caps it)
--
-- A stall is not a death. Every worker calls this every half beat. A stall is detected
-- when no call came for 1.5 beats (Redis, or every reaper, could not run), Redis' clock
-- went back, or Redis' run_id changed (a restart): the reapers are "healthy since" now
-- and forget what they saw. A call at least one beat after the last turn is a turn; a
-- turn looks at every worker's last beat. A worker is dead only when three turns saw its
-- beat unmoved, that beat is ARGV[2] old, and the last stall is ARGV[6] ago (a grace for
-- live workers to reconnect and beat). An expired lease is taken back only after that
-- grace too: a live worker's next beat renews its leases first.
-- A recovered job goes first in line of its own priority (lib/queue.lua).
-- Returns {recovered, poisoned, dead workers, ms without a call when this call found a
-- stall (else 0)}, or -1 for a call that is not a turn.
-- @include keys
-- @include queue
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local beat = tonumber(ARGV[1])
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
local st = redis.call('HMGET', KEYS[4], 'at', 'turn', 'healthy_since', 'run_id')
local at, turn, since = tonumber(st[1]), tonumber(st[2]), tonumber(st[3])
local stall = 0
if not at then
  -- no history (a first run): the freshest beat is the last sign of a healthy Redis; one
  -- that is old means a state restored from before this script, which counts as a stall
  local newest = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
  if not newest or now - tonumber(newest) <= beat * 3 / 2 then
    at, since, st[4] = now, now - tonumber(ARGV[6]), run_id
  end
end
if not at or not since or now < at or now - at > beat * 3 / 2 or st[4] ~= run_id then
  stall = at and math.max(now - at, 1) or 1
  since = now
  turn = nil
  redis.call('DEL', KEYS[5])
end
redis.call('HSET', KEYS[4], 'at', now, 'healthy_since', since, 'run_id', run_id)
if turn and turn <= now and now - turn < beat then
  return -1
end
redis.call('HSET', KEYS[4], 'turn', now)
local prefix = ARGV[3]
local budget = tonumber(ARGV[5])
local recovered, poisoned = 0, 0

-- @include events
-- @include batch

local function recover(id, why)
  local jk = jq_id_key(prefix, JQ_KEY.job, id)
  redis.call('ZREM', KEYS[1], id)
  local f = redis.call('HMGET', jk, 'state', 'queue', 'recoveries', 'cancel_requested',
                      'priority', 'batch', 'type')
  if f[1] ~= 'running' then
    return
  end
  f[2] = f[2] or 'default' -- not stored at its default
  local n = tonumber(f[3] or '0') + 1
  local qstats = prefix .. JQ_KEY.queue_stats .. f[2]
  local tstats, ty = prefix .. JQ_KEY.type_stats .. f[2], (f[7] or '') .. '|'
  redis.call('HINCRBY', qstats, 'running', -1)
  if f[4] then
    -- its cancellation was asked for while it ran: it ends here, it does not run again
    redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', now)
    redis.call('PEXPIRE', jk, ARGV[7])
    redis.call('HINCRBY', qstats, 'cancelled', 1)
    redis.call('HINCRBY', tstats, ty .. 'cancelled', 1)
    jq_event(jk, prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id, 'cancelled')
    if f[6] then
      batch_count(prefix, f[6], 'cancelled', 1, now)
    end
    return
  end
  if n > tonumber(ARGV[4]) then
    redis.call('HINCRBY', qstats, 'failed', 1)
    redis.call('HINCRBY', tstats, ty .. 'failed', 1)
    redis.call('HSET', jk, 'state', 'failed', 'recoveries', n, 'finished_at', now,
               'error', 'lost its worker ' .. (n - 1) .. ' times (' .. why .. '); not retried')
    redis.call('ZADD', KEYS[3], now, id)
    redis.call('PEXPIRE', jk, ARGV[7])
    jq_event(jk, prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id, 'failed lost its worker')
    if f[6] then
      batch_count(prefix, f[6], 'failed', 1, now)
    end
    poisoned = poisoned + 1
    return
  end
  -- the attempt did not fail, its worker did: do not spend it
  redis.call('HINCRBY', jk, 'attempts', -1)
  redis.call('HSET', jk, 'state', 'pending', 'recoveries', n, 'ready_at', now)
  redis.call('HDEL', jk, 'worker', 'started_at', 'done', 'total')
  redis.call('HINCRBY', qstats, 'recovered', 1)
  redis.call('HINCRBY', tstats, ty .. 'recovered', 1)
  jq_event(jk, prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id, 'pending')
  jq_push(prefix .. JQ_KEY.queue .. f[2], jq_prio(f[5]), id, 'RPUSH')
  local wake = prefix .. JQ_KEY.wake .. f[2]
  if redis.call('LLEN', wake) == 0 then
    redis.call('LPUSH', wake, 1)
  end
  recovered = recovered + 1
end

-- 1. workers whose heartbeat stopped: their jobs come back now, not at lease expiry
local healthy = now - since >= tonumber(ARGV[6])
local seen = {}
local flat = redis.call('HGETALL', KEYS[5])
for i = 1, #flat, 2 do
  seen[flat[i]] = flat[i + 1]
end
local dead = {}
-- each worker is judged by its own beat: a worker beating every second is not dead to a
-- reaper beating every 250 ms (review: with mixed --heartbeat-ms they declared each other
-- dead, and jobs ran several times)
local periods = {}
flat = redis.call('HGETALL', KEYS[6])
for i = 1, #flat, 2 do
  periods[flat[i]] = tonumber(flat[i + 1])
end
local beats = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #beats, 2 do
  local wid, b = beats[i], beats[i + 1]
  local last, n = string.match(seen[wid] or '', '^(%S+) (%d+)$')
  n = (last == b) and tonumber(n) + 1 or 0
  seen[wid] = nil
  local after = math.max(tonumber(ARGV[2]), 3 * (periods[wid] or 0))
  if healthy and n >= 2 and now - tonumber(b) >= after and #dead < 16 then
    dead[#dead + 1] = wid
    redis.call('HDEL', KEYS[5], wid)
    redis.call('HDEL', KEYS[6], wid)
  else
    redis.call('HSET', KEYS[5], wid, b .. ' ' .. n)
  end
end
for wid in pairs(seen) do
  redis.call('HDEL', KEYS[5], wid) -- gone from the workers (a clean exit)
  redis.call('HDEL', KEYS[6], wid)
end
for _, wid in ipairs(dead) do
  local jobs_key = prefix .. JQ_KEY.worker_jobs .. wid
  for _, id in ipairs(redis.call('SMEMBERS', jobs_key)) do
    if redis.call('HGET', jq_id_key(prefix, JQ_KEY.job, id), 'worker') == wid then
      recover(id, 'worker ' .. wid .. ' stopped beating')
    end
  end
  redis.call('DEL', jobs_key, prefix .. JQ_KEY.worker .. wid)
  redis.call('ZREM', KEYS[2], wid)
end
-- 2. the backstop: any lease past its deadline, once live workers have had the grace to
-- renew theirs after a stall
if healthy then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, budget)
  for _, id in ipairs(expired) do
    recover(id, 'lease expired')
  end
end
if poisoned > 0 and ARGV[8] then
  local cap = tonumber(ARGV[8])
  if redis.call('ZCARD', KEYS[3]) > cap then
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -cap - 1)
  end
end
return {recovered, poisoned, #dead, stall}
