#!lua flags=no-writes
-- cron_due: which periodic schedules are due now, by Redis' clock (read-only).
-- KEYS[1] schedule-next zset (name -> next run ms), KEYS[2] schedules hash (definitions)
-- ARGV[1] the most schedules returned
-- Returns {now ms, the next run after now (ms, or -1 if none), then name, due ms,
-- definition for each due schedule}, earliest first. A firer stores one job per schedule
-- with cron_claim.lua and the enqueue script in one MULTI.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {now, -1}
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #later > 0 then out[2] = tonumber(later[2]) end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
                       tonumber(ARGV[1]))
for i = 1, #due, 2 do
  local def = redis.call('HGET', KEYS[2], due[i])
  if def then
    out[#out + 1] = due[i]
    out[#out + 1] = tonumber(due[i + 1])
    out[#out + 1] = def
  end
end
return out
