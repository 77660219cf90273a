-- requeue: give a running job back to the head of its queue without spending an attempt
-- (graceful shutdown), if the caller still holds its lease.
-- KEYS[1] job hash, KEYS[2] lease zset, KEYS[3] queue list, KEYS[4] queue wake list,
--   KEYS[5] queue stats hash
-- ARGV[1] id, ARGV[2] fencing token
-- Returns 1, or 0 for a stale lease.
local cur = redis.call('HMGET', KEYS[1], 'token', 'state')
if cur[1] ~= ARGV[2] or cur[2] ~= 'running' then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('HSET', KEYS[1], 'state', 'pending')
redis.call('HDEL', KEYS[1], 'worker', 'started_at', 'done', 'total')
-- workers pop from the right: RPUSH puts it first in line
redis.call('RPUSH', KEYS[3], ARGV[1])
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('LPUSH', KEYS[4], 1)
end
redis.call('HINCRBY', KEYS[5], 'running', -1)
return 1
