-- queues: a consistent snapshot of queue counts, for GET /queues and /metrics.
-- KEYS[1] set of queue names, KEYS[2] set of paused queues
-- ARGV[1] key prefix (queue and queue stats keys are built from it), ARGV[2] one queue
--   name, or '' for all
-- Returns per queue: name, pending (all its priority lists, lib/queue.lua), paused (0/1),
--   then the stats hash as a flat name, value array.
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
local out = {}
for _, q in ipairs(names) do
  out[#out + 1] = q
  out[#out + 1] = jq_depth(ARGV[1] .. 'q:' .. q)
  out[#out + 1] = redis.call('SISMEMBER', KEYS[2], q)
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. 'queue-stats:' .. q)
end
return out
