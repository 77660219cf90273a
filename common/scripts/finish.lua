-- finish: record a job's outcome and release its lease, if the caller still holds it.
-- KEYS[1] job hash, KEYS[2] lease zset, KEYS[3] dead zset
-- ARGV[1] id, ARGV[2] fencing token, ARGV[3] 'completed' or 'failed',
--   ARGV[4] result (JSON) or error text, ARGV[5] now ms,
--   ARGV[6] keep completed jobs ms, ARGV[7] keep failed jobs ms
-- Returns 1, or 0 when the lease is no longer the caller's (a stale acknowledgement).
local cur = redis.call('HMGET', KEYS[1], 'token', 'state')
if cur[1] ~= ARGV[2] or cur[2] ~= 'running' then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] == 'completed' then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'result', ARGV[4], 'finished_at', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
else
  redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[4], 'finished_at', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
return 1
