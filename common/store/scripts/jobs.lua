#!lua flags=no-writes
-- jobs: one bounded page of the jobs in an index set, for GET /jobs?state=...; read-only.
-- KEYS[1] the index zset: leases (running), scheduled (scheduled) or dead (failed)
-- ARGV[1] key prefix (job keys are built from it, as fetch and dead do), ARGV[2] 'asc' or
--   'desc' (by score), ARGV[3] how many entries to look at (the caller bounds it),
--   ARGV[4] the state a listed job must be in
-- Returns {size of the set, then per job {id, score, state, type, queue, attempts,
--   max_attempts, done, total, error, worker, created_at, started_at, finished_at}}
--   (a field not stored is nil). Entries whose hash expired or whose state moved on
--   meanwhile are skipped, not removed.
-- @include keys
local n = tonumber(ARGV[3])
local entries
if ARGV[2] == 'desc' then
  entries = redis.call('ZREVRANGE', KEYS[1], 0, n - 1, 'WITHSCORES')
else
  entries = redis.call('ZRANGE', KEYS[1], 0, n - 1, 'WITHSCORES')
end
local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #entries, 2 do
  local id = entries[i]
  local f = redis.call('HMGET', jq_id_key(ARGV[1], JQ_KEY.job, id), 'state', 'type', 'queue', 'attempts',
                       'max_attempts', 'done', 'total', 'error', 'worker', 'created_at',
                       'started_at', 'finished_at')
  if f[1] == ARGV[4] then
    local job = {id, entries[i + 1]}
    for k = 1, 12 do
      job[k + 2] = f[k]
    end
    out[#out + 1] = job
  end
end
return out
