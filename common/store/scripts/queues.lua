#!lua flags=no-writes
-- queues: a consistent snapshot of queue counts, for GET /queues and /metrics.
-- KEYS[1] set of queue names, KEYS[2] set of paused queues (a queue with only a rate limit
--   is in KEYS[1]: setting one adds its name), KEYS[3] rate limits hash
-- ARGV[1] key prefix (each queue's list, stats and rate keys are named from it and the
--   queue's name), ARGV[2] one queue name, or '' for all
-- Returns per queue: name, pending (all its priority lists, lib/queue.lua), paused (0/1),
--   the stats hash as a flat name, value array, then its rate limit: {limit, interval ms,
--   jobs started in the current interval} or an empty array when it has none.
-- @include keys
-- @include queue
local names
if ARGV[2] ~= '' then
  if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 0 and
     redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then
    return {}
  end
  names = {ARGV[2]}
else
  names = redis.call('SUNION', KEYS[1], KEYS[2])
  table.sort(names)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, q in ipairs(names) do
  out[#out + 1] = q
  out[#out + 1] = jq_depth(ARGV[1] .. JQ_KEY.queue .. q)
  out[#out + 1] = redis.call('SISMEMBER', KEYS[2], q)
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. JQ_KEY.queue_stats .. q)
  local rate = {}
  local limit, interval = string.match(redis.call('HGET', KEYS[3], q) or '',
                                       '^(%d+):(%d+)$')
  if limit then
    -- the starts fetch.lua counts: those of the last interval (read only: nothing trimmed)
    local used = redis.call('ZCOUNT', ARGV[1] .. JQ_KEY.rate .. q, '(' .. (now - tonumber(interval)),
                            '+inf')
    rate = {tonumber(limit), tonumber(interval), used}
  end
  out[#out + 1] = rate
end
return out
