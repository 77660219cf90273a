#!lua
-- stats: add a worker's counts since its last report to the totals, in one atomic step
-- (called with the heartbeat, about once a second, never per job).
-- KEYS[1] the workers' Redis error counts hash, KEYS[2..] one type stats hash per
--   series ('<p>type-stats:<queue>'; a queue may appear more than once)
-- ARGV[1] n, then n (field, delta) pairs for KEYS[1]; then for each of KEYS[2..]: m, then
--   m (field, delta) pairs; a type stats field is '<type>|<name>' (common/metrics.h)
-- Returns the number of fields changed.
local a = 1
local changed = 0
for k = 1, #KEYS do
  local n = tonumber(ARGV[a])
  for i = a + 1, a + 2 * n, 2 do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
  end
  changed = changed + n
  a = a + 1 + 2 * n
end
return changed
