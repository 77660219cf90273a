#!lua
-- heartbeat: a worker says it is alive and extends the leases of all its jobs, in one step.
-- KEYS[1] lease zset, KEYS[2] workers zset (id -> last beat ms), KEYS[3] this worker's
--   job set, KEYS[4] this worker's info, KEYS[5] the workers' beat periods (id -> ms: the
--   reaper judges each worker by its own)
-- ARGV[1] the key prefix (job keys: lib/keys.lua jq_id_key), ARGV[2] lease ms (the deadline is Redis' TIME
--   plus this), ARGV[3] ttl of the job set and info (ms), ARGV[4] worker id, ARGV[5] info
--   JSON, ARGV[6] its beat period (ms), ARGV[7..] ids of the jobs it holds
-- Returns the ids among them whose cancellation was requested (a backstop for the
-- cancel channel).
-- @include keys
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[6])
redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[3])
redis.call('DEL', KEYS[3])
local cancel = {}
for i = 7, #ARGV do
  -- XX: never re-create a lease that was released or taken back
  redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
  redis.call('SADD', KEYS[3], ARGV[i])
  if redis.call('HGET', jq_id_key(ARGV[1], JQ_KEY.job, ARGV[i]), 'cancel_requested') then
    cancel[#cancel + 1] = ARGV[i]
  end
end
if #ARGV >= 7 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return cancel
