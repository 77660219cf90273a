-- enqueue: store a new job and make it visible to workers, in one atomic step.
-- KEYS[1] job hash, KEYS[2] queue list, KEYS[3] queue wake list, KEYS[4] set of queue names
-- ARGV[1] id, ARGV[2] queue name, ARGV[3..] envelope fields as name, value pairs
-- created_at is Redis' clock (TIME), so brokers and workers on many machines agree.
-- Returns 1.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', 0, 'created_at', now, unpack(ARGV, 3))
redis.call('LPUSH', KEYS[2], ARGV[1])
-- one wake-up token is enough: a worker that fetches passes it on while jobs remain
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('LPUSH', KEYS[3], 1)
end
redis.call('SADD', KEYS[4], ARGV[2])
return 1
