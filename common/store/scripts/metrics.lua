#!lua flags=no-writes
-- metrics: a consistent read of the counts behind GET /metrics that the queues script
-- does not give: the per (queue, type) stats and the workers' Redis errors.
-- KEYS[1] set of queue names, KEYS[2] the workers' Redis error counts hash
-- ARGV[1] key prefix (type stats keys are built from it and the queue names, as queues
--   does), ARGV[2] most queues to read
-- Returns {the error counts hash as a flat name, value array, then per queue (sorted by
--   name, at most ARGV[2]): name, its type stats hash as a flat array}.
-- @include keys
local names = redis.call('SMEMBERS', KEYS[1])
table.sort(names)
local out = {redis.call('HGETALL', KEYS[2])}
for i = 1, math.min(#names, tonumber(ARGV[2])) do
  out[#out + 1] = names[i]
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. JQ_KEY.type_stats .. names[i])
end
return out
