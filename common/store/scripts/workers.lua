#!lua flags=no-writes
-- workers: the workers whose heartbeat is recent, with their info, for GET /workers.
-- KEYS[1] workers zset (id -> last beat ms)
-- ARGV[1] key prefix (info keys are built from it), ARGV[2] how old a last beat may be (ms)
-- Returns per worker: id, last beat ms, info JSON.
-- @include keys
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local info = redis.call('GET', ARGV[1] .. JQ_KEY.worker .. ids[i])
  if info then
    out[#out + 1] = ids[i]
    out[#out + 1] = ids[i + 1]
    out[#out + 1] = info
  end
end
return out
