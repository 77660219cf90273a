#!lua
-- reap: give back the jobs of dead workers and of expired leases, one reaper at a time.
-- KEYS[1] lease zset, KEYS[2] workers zset, KEYS[3] dead zset, KEYS[4] reaper lock
-- ARGV[1] unused (now is Redis' TIME), ARGV[2] a worker is dead when its last beat is older than this (ms),
--   ARGV[3] key prefix (job, queue, wake and worker keys are built from it, as fetch does),
--   ARGV[4] most recoveries of one job before it is failed as poison,
--   ARGV[5] most jobs per call, ARGV[6] caller id, ARGV[7] lock ms, ARGV[8] keep failed ms,
--   ARGV[9] most jobs kept in the dead set (as finish caps it)
-- A recovered job goes first in line of its own priority (lib/queue.lua).
-- Returns {recovered, poisoned, dead workers}, or -1 if another reaper holds the lock.
-- @include keys
-- @include queue
if not redis.call('SET', KEYS[4], ARGV[6], 'NX', 'PX', ARGV[7]) then
  return -1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prefix = ARGV[3]
local budget = tonumber(ARGV[5])
local recovered, poisoned = 0, 0

-- @include batch

local function recover(id, why)
  local jk = prefix .. JQ_KEY.job .. id
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
    redis.call('PEXPIRE', jk, ARGV[8])
    redis.call('HINCRBY', qstats, 'cancelled', 1)
    redis.call('HINCRBY', tstats, ty .. 'cancelled', 1)
    redis.call('PUBLISH', jk .. JQ_SUFFIX.events, 'cancelled')
    redis.call('PUBLISH', prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id .. ' cancelled')
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
    redis.call('PEXPIRE', jk, ARGV[8])
    redis.call('PUBLISH', jk .. JQ_SUFFIX.events, 'failed lost its worker')
    redis.call('PUBLISH', prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id .. ' failed lost its worker')
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
  redis.call('PUBLISH', jk .. JQ_SUFFIX.events, 'pending')
  redis.call('PUBLISH', prefix .. JQ_KEY.queue .. f[2] .. JQ_SUFFIX.events, id .. ' pending')
  jq_push(prefix .. JQ_KEY.queue .. f[2], jq_prio(f[5]), id, 'RPUSH')
  local wake = prefix .. JQ_KEY.wake .. f[2]
  if redis.call('LLEN', wake) == 0 then
    redis.call('LPUSH', wake, 1)
  end
  recovered = recovered + 1
end

-- 1. workers whose heartbeat stopped: their jobs come back now, not at lease expiry
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, 16)
for _, wid in ipairs(dead) do
  local jobs_key = prefix .. JQ_KEY.worker_jobs .. wid
  for _, id in ipairs(redis.call('SMEMBERS', jobs_key)) do
    if redis.call('HGET', prefix .. JQ_KEY.job .. id, 'worker') == wid then
      recover(id, 'worker ' .. wid .. ' stopped beating')
    end
  end
  redis.call('DEL', jobs_key, prefix .. JQ_KEY.worker .. wid)
  redis.call('ZREM', KEYS[2], wid)
end
-- 2. the backstop: any lease past its deadline
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, budget)
for _, id in ipairs(expired) do
  recover(id, 'lease expired')
end
if poisoned > 0 and ARGV[9] then
  local cap = tonumber(ARGV[9])
  if redis.call('ZCARD', KEYS[3]) > cap then
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -cap - 1)
  end
end
return {recovered, poisoned, #dead}
