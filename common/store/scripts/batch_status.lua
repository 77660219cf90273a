#!lua flags=no-writes
-- batch_status: a batch's counts by state, read in one atomic step (GET /batches/{id}).
-- KEYS[1] batch hash (lib/batch.lua keeps it)
-- ARGV[1] the key prefix, ARGV[2] the batch's id (its jobs are the total ids after it)
-- Its members' hashes are named from their ids (lib/keys.lua jq_id_key): each under its
-- own id's hash tag, read here on one Redis (docs/cluster.md: per-member reads span slots).
-- Returns {} for an unknown (or expired) batch, else name, value pairs: the hash's fields
-- (total, completed, failed, cancelled, created_at, keep_ms, and once known finished_at,
-- callback_id), then pending, scheduled and running, counted from the members' hashes.
-- That count reads each member while the batch runs (at most 10,000: the bulk limit,
-- about 2 ms of Redis' time); a finished batch needs no reads.
-- @include keys
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then
  return {}
end
local f = {}
for i = 1, #h, 2 do
  f[h[i]] = h[i + 1]
end
local live = {pending = 0, scheduled = 0, running = 0}
if not f.finished_at then
  local first = tonumber(ARGV[2])
  for i = 1, tonumber(f.total or '0') do
    local s = redis.call('HGET', jq_id_key(ARGV[1], JQ_KEY.job, first + i), 'state')
    if s and live[s] then
      live[s] = live[s] + 1
    end
  end
end
for _, s in ipairs({'pending', 'scheduled', 'running'}) do
  h[#h + 1] = s
  h[#h + 1] = live[s]
end
return h
