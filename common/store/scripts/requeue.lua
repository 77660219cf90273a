#!lua
-- requeue: give a running job back to the head of its queue without spending an attempt
-- (graceful shutdown), if the caller still holds its lease.
-- KEYS[1] job hash, KEYS[2] lease zset, KEYS[3] queue list, KEYS[4] queue wake list,
--   KEYS[5] queue stats hash, KEYS[6] the queue's type stats hash
-- ARGV[1] id, ARGV[2] fencing token, ARGV[3] keep cancelled jobs ms, ARGV[4] key prefix
--   (the keys of a batch it belongs to are named from it: lib/batch.lua)
-- The job goes first in line of its own priority (lib/queue.lua). A job whose cancel was
-- asked for ends cancelled instead (counted in its batch, lib/batch.lua).
-- Returns 1 requeued, 2 cancelled, or 0 for a stale lease.
-- @include keys
-- @include queue
-- @include events
-- @include batch
local cur = redis.call('HMGET', KEYS[1], 'token', 'state', 'cancel_requested', 'priority',
                       'type', 'batch', 'queue')
if cur[1] ~= ARGV[2] or cur[2] ~= 'running' then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'running', -1)
if cur[3] then
  -- its cancellation was asked for: it ends here instead of going back to the queue
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('HINCRBY', KEYS[5], 'cancelled', 1)
  redis.call('HINCRBY', KEYS[6], (cur[5] or '') .. '|cancelled', 1)
  if cur[6] then
    batch_count(ARGV[4], cur[6], 'cancelled', 1, now)
  end
  jq_event(KEYS[1], KEYS[3] .. JQ_SUFFIX.events, ARGV[1], 'cancelled')
  return 2
end
local t = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('HSET', KEYS[1], 'state', 'pending',
           'ready_at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('HDEL', KEYS[1], 'worker', 'started_at', 'done', 'total')
-- workers pop from the right: RPUSH puts it first in line
jq_push(KEYS[3], jq_prio(cur[4]), ARGV[1], 'RPUSH')
jq_event(KEYS[1], KEYS[3] .. JQ_SUFFIX.events, ARGV[1], 'pending')
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('LPUSH', KEYS[4], 1)
end
return 1
