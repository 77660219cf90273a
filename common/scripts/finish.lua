-- finish: record the outcome of an attempt and release its lease, if the caller still holds it.
-- KEYS[1] job hash, KEYS[2] lease zset, KEYS[3] dead zset, KEYS[4] scheduled zset,
--   KEYS[5] stats hash (counters completed, retried, failed)
-- ARGV[1] id, ARGV[2] fencing token, ARGV[3] 'completed', 'failed' (may retry) or
--   'fatal' (never retry: the job cannot run), ARGV[4] result (JSON) or error text,
--   ARGV[5] unused (times are Redis' TIME), ARGV[6] keep completed jobs ms, ARGV[7] keep failed jobs ms,
--   ARGV[8] retry delay (ms) if attempts remain, ARGV[9] most jobs kept in the dead set
-- Returns 1 completed, 2 scheduled for a retry, 3 failed for good (dead),
--   or 0 when the lease is no longer the caller's (a stale acknowledgement).
local cur = redis.call('HMGET', KEYS[1], 'token', 'state', 'attempts', 'max_attempts', 'errors')
if cur[1] ~= ARGV[2] or cur[2] ~= 'running' then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] == 'completed' then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'result', ARGV[4], 'finished_at', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('HINCRBY', KEYS[5], 'completed', 1)
  return 1
end
-- keep the error of every attempt
local errors = cjson.decode(cur[5] or '[]')
errors[#errors + 1] = {attempt = tonumber(cur[3]), error = ARGV[4], at = now}
local encoded = cjson.encode(errors)
if ARGV[3] == 'failed' and tonumber(cur[3] or '0') < tonumber(cur[4] or '1') then
  local run_at = now + tonumber(ARGV[8])
  redis.call('HSET', KEYS[1], 'state', 'scheduled', 'error', ARGV[4], 'errors', encoded,
             'run_at', run_at)
  redis.call('HDEL', KEYS[1], 'worker')
  redis.call('ZADD', KEYS[4], run_at, ARGV[1])
  redis.call('HINCRBY', KEYS[5], 'retried', 1)
  return 2
end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[4], 'errors', encoded,
           'finished_at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('HINCRBY', KEYS[5], 'failed', 1)
-- cap the dead set: the oldest entries go (their hashes expire on their own)
local cap = tonumber(ARGV[9])
if redis.call('ZCARD', KEYS[3]) > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -cap - 1)
end
return 3
