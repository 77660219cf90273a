-- enqueue: store new jobs and make them visible to workers, in one atomic step
-- (one job for POST /jobs, many for POST /jobs/bulk).
-- KEYS[1] set of queue names, KEYS[2] stats hash, KEYS[3] id counter, then per job:
--   job hash, queue list, queue wake list
-- ARGV per job: id, queue name, n, then n values: the envelope as name, value pairs
-- created_at is Redis' clock (TIME), so brokers and workers on many machines agree.
-- Fields at their default (queue 'default', max_attempts 3, attempts 0, priority 0,
-- timeout_ms 0) are not stored: every reader knows the defaults (docs/redis.md).
-- Returns the number of jobs stored.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- an id is never reused: refuse the whole call before writing anything
for k = 4, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    return redis.error_reply('ID_TAKEN ' .. KEYS[k] .. ' already exists')
  end
end
local a = 1
local seen = {}
local maxid = 0
for k = 4, #KEYS, 3 do
  local n = tonumber(ARGV[a + 2])
  redis.call('HSET', KEYS[k], 'state', 'pending', 'created_at', now, unpack(ARGV, a + 3, a + 2 + n))
  redis.call('LPUSH', KEYS[k + 1], ARGV[a])
  local wake = KEYS[k + 2]
  if not seen[wake] then
    seen[wake] = true
    -- one wake-up token is enough: a worker that fetches passes it on while jobs remain
    if redis.call('LLEN', wake) == 0 then
      redis.call('LPUSH', wake, 1)
    end
    redis.call('SADD', KEYS[1], ARGV[a + 1])
  end
  if tonumber(ARGV[a]) > maxid then maxid = tonumber(ARGV[a]) end
  a = a + 3 + n
end
-- keep the counter ahead of every stored id, even after it was reset (FLUSHALL, a
-- restore): ids a broker reserved earlier then never collide with new blocks
if tonumber(redis.call('GET', KEYS[3]) or '0') < maxid then
  redis.call('SET', KEYS[3], maxid)
end
local count = (#KEYS - 3) / 3
redis.call('HINCRBY', KEYS[2], 'enqueued', count)
return count
