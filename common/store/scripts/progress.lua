#!lua
-- progress: record done/total of a running job, if the caller still holds its lease.
-- KEYS[1] job hash
-- ARGV[1] fencing token, ARGV[2] done, ARGV[3] total, then optionally ARGV[4] the
--   queue's events channel ('<queue list key>:events') and ARGV[5] the job id
-- Returns 1, or 0 for a stale lease.
-- @include keys
-- @include events
local cur = redis.call('HMGET', KEYS[1], 'token', 'state')
if cur[1] ~= ARGV[1] or cur[2] ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'done', ARGV[2], 'total', ARGV[3])
jq_event(KEYS[1], ARGV[4], ARGV[5], 'running ' .. ARGV[2] .. ' ' .. ARGV[3])
return 1
