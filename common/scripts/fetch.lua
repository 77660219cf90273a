-- fetch: take up to N pending jobs and record each under a lease, in one atomic step.
-- A job is never out of its queue without being in the lease set (at-least-once).
-- KEYS[1] lease zset (id -> deadline ms), KEYS[2] set of paused queues, then per served
--   queue, in the order the worker serves them: (queue list, wake list, queue stats hash)
-- ARGV[1] job key prefix ("<prefix>job:"), ARGV[2] unused, ARGV[3] lease ms,
--   ARGV[4] worker id, ARGV[5] most jobs to take, ARGV[6..] the queue names, in KEYS order
-- Times are Redis' clock (TIME): one clock for every machine.
-- Returns an array: first the list of ids dropped because their job hash is gone (so the
-- worker can log them), then 8 entries per job taken:
--   id, token, attempts, type, payload, timeout_ms, max_attempts, queue
-- Every state change is published on '<job key>:events' ('running' here; see
-- docs/redis.md for the messages), for GET /jobs/{id}/events.
-- Job keys are built from the popped id (the one exception to "keys in KEYS[]",
-- as in BullMQ's moveToActive): a queue and its jobs live on one Redis.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = {}
local out = {dropped}
local want = tonumber(ARGV[5])
local deadline = now + tonumber(ARGV[3])
local got = 0
local paused = {}
for i = 3, #KEYS, 3 do
  local q = (i - 3) / 3 + 1
  paused[i] = redis.call('SISMEMBER', KEYS[2], ARGV[5 + q]) == 1
  local taken = 0
  while got < want and not paused[i] do
    local id = redis.call('RPOP', KEYS[i])
    if not id then break end
    local jk = ARGV[1] .. id
    local f = redis.call('HMGET', jk, 'state', 'type', 'payload', 'timeout_ms', 'max_attempts',
                        'queue', 'token', 'attempts')
    if f[1] == 'pending' then
      local token = tonumber(f[7] or '0') + 1
      local attempts = tonumber(f[8] or '0') + 1
      redis.call('HSET', jk, 'state', 'running', 'worker', ARGV[4], 'started_at', now,
                 'token', token, 'attempts', attempts)
      redis.call('ZADD', KEYS[1], deadline, id)
      redis.call('PUBLISH', jk .. ':events', 'running')
      redis.call('PUBLISH', KEYS[i] .. ':events', id .. ' running')
      out[#out + 1] = id
      out[#out + 1] = token
      out[#out + 1] = attempts
      out[#out + 1] = f[2] or ''
      out[#out + 1] = f[3] or ''
      out[#out + 1] = f[4] or '0'
      out[#out + 1] = f[5] or '3' -- defaults are not stored (see enqueue)
      out[#out + 1] = f[6] or 'default'
      got = got + 1
      taken = taken + 1
    elseif not f[1] then
      dropped[#dropped + 1] = id
    end
    -- any other state (cancelled while queued): not runnable, dropped
  end
  if taken > 0 then
    redis.call('HINCRBY', KEYS[i + 2], 'running', taken)
  end
end
-- pass the wake-up on to the next idle worker while any served, unpaused queue holds jobs
for i = 3, #KEYS, 3 do
  if not paused[i] and redis.call('LLEN', KEYS[i]) > 0 and redis.call('LLEN', KEYS[i + 1]) == 0 then
    redis.call('LPUSH', KEYS[i + 1], 1)
  end
end
return out
