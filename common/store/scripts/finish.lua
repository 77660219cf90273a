#!lua
-- finish: record the outcomes of attempts and release their leases, for every job whose
-- lease the caller still holds, in one atomic step (a worker sends all the outcomes of
-- one loop turn together).
-- KEYS[1] lease zset, KEYS[2] dead zset, KEYS[3] scheduled zset, KEYS[4] stats hash
--   (counters completed, retried, failed), KEYS[5..] the job hashes, one per job
-- ARGV[1] keep completed (and cancelled) jobs ms, ARGV[2] keep failed jobs ms, ARGV[3] most
--   jobs kept in the dead set, ARGV[4] key prefix (queue stats keys are built from it and
--   the job's queue), then 6 per job: id, fencing token, kind ('completed', 'failed' (may
--   retry), 'fatal' (never retry: the job cannot run) or 'cancelled'), result JSON or
--   error text, retry delay ms (used if attempts remain), queue name (the worker's copy
--   from fetch: reading it from the hash costs a scan when it is absent at its default)
-- Times are Redis' clock (TIME).
-- Returns one code per job: 1 completed, 2 scheduled for a retry, 3 failed for good
--   (dead), 4 cancelled, 0 the lease is no longer the caller's (a stale acknowledgement:
--   nothing written). An outcome sent again after it was written under the same token
--   (same state, same text) answers its first code and writes nothing: resends are safe.
-- @include keys
-- @include queue
-- @include events
-- @include batch
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- as text once per call: Redis formats a Lua number given to a command with %.17g each time
local now_s = string.format('%d', now)
local out = {}
local totals = {completed = 0, retried = 0, failed = 0, cancelled = 0}
local per_queue = {} -- queue -> {counter -> n}
-- The queue's event channel (GET /ws), or false while nobody follows it: one NUMSUB per
-- queue and call instead of a PUBLISH per job for nobody.
local channels = {}
local function qchannel(q)
  local ch = channels[q]
  if ch == nil then
    ch = ARGV[4] .. JQ_KEY.queue .. q .. JQ_SUFFIX.events
    if redis.call('PUBSUB', 'NUMSUB', ch)[2] == 0 then
      ch = false
    end
    channels[q] = ch
  end
  return ch
end
local function count(q, what)
  totals[what] = totals[what] + 1
  local c = per_queue[q]
  if not c then
    c = {running = 0}
    per_queue[q] = c
  end
  c[what] = (c[what] or 0) + 1
  c.running = c.running - 1
end
-- A job no longer running under the caller's token: a resend of an outcome this call's
-- caller wrote before (its answer was lost, or --min-replicas-ack was not met) gets the
-- code it got then, and nothing is written again; anything else (the reaper requeued or
-- failed it, a cancel of the retry) is 0. The state and the text must be the ones this
-- outcome wrote.
local function repeated(jk, state, kind, text)
  local f = redis.call('HMGET', jk, 'result', 'error')
  if kind == 'completed' then
    return (state == 'completed' and f[1] == text) and 1 or 0
  end
  if f[2] ~= text then return 0 end
  if state == 'cancelled' and kind ~= 'completed' then return 4 end
  if kind == 'cancelled' then return 0 end
  -- a retry stays under this token until a worker takes it: scheduled, or already promoted
  if (state == 'scheduled' or state == 'pending') and kind == 'failed' then return 2 end
  if state == 'failed' then return 3 end
  return 0
end
for k = 5, #KEYS do
  local a = 5 + (k - 5) * 6
  local jk, id, token, kind, text = KEYS[k], ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local q = ARGV[a + 5]
  local qch = qchannel(q)
  local cur = redis.call('HMGET', jk, 'token', 'state', 'batch', 'done', 'total')
  if cur[1] ~= token then
    out[#out + 1] = 0
  elseif cur[2] ~= 'running' then
    out[#out + 1] = repeated(jk, cur[2], kind, text)
  elseif kind == 'completed' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', jk, 'state', 'completed', 'result', text, 'finished_at', now_s)
    redis.call('PEXPIRE', jk, ARGV[1])
    count(q, 'completed')
    if cur[3] then batch_count(ARGV[4], cur[3], 'completed', 1, now) end
    -- the final progress goes with it: the last step a client may have missed
    jq_event(jk, qch, id, 'completed ' .. (cur[4] or '0') .. ' ' .. (cur[5] or '0'))
    out[#out + 1] = 1
  elseif kind == 'cancelled' or
         (kind == 'failed' and redis.call('HEXISTS', jk, 'cancel_requested') == 1) then
    -- (a failed attempt of a job whose cancel was asked for ends it: no retry)
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', jk, 'state', 'cancelled', 'error', text, 'finished_at', now_s)
    redis.call('PEXPIRE', jk, ARGV[1])
    count(q, 'cancelled')
    if cur[3] then batch_count(ARGV[4], cur[3], 'cancelled', 1, now) end
    jq_event(jk, qch, id, 'cancelled')
    out[#out + 1] = 4
  else
    redis.call('ZREM', KEYS[1], id)
    -- keep the error of every attempt, numbered since the job was created (a retry from
    -- the dead set counts on: attempts_before, dead.lua)
    local more = redis.call('HMGET', jk, 'attempts', 'max_attempts', 'errors', 'attempts_before')
    local errors = cjson.decode(more[3] or '[]')
    errors[#errors + 1] = {attempt = tonumber(more[1]) + tonumber(more[4] or '0'), error = text,
                           at = now}
    local encoded = cjson.encode(errors)
    if kind == 'failed' and tonumber(more[1] or '0') < tonumber(more[2] or '3') then
      local run_at = now + tonumber(ARGV[a + 4])
      redis.call('HSET', jk, 'state', 'scheduled', 'error', text, 'errors', encoded,
                 'run_at', run_at)
      redis.call('HDEL', jk, 'worker', 'done', 'total') -- the next attempt starts at 0
      redis.call('ZADD', KEYS[3], run_at, id)
      count(q, 'retried')
      jq_event(jk, qch, id, 'scheduled ' .. text)
      per_queue[q].scheduled = (per_queue[q].scheduled or 0) + 1
      out[#out + 1] = 2
    else
      redis.call('HSET', jk, 'state', 'failed', 'error', text, 'errors', encoded,
                 'finished_at', now_s)
      redis.call('PEXPIRE', jk, ARGV[2])
      redis.call('ZADD', KEYS[2], now_s, id)
      count(q, 'failed')
      if cur[3] then batch_count(ARGV[4], cur[3], 'failed', 1, now) end
      jq_event(jk, qch, id, 'failed ' .. text)
      out[#out + 1] = 3
    end
  end
end
for what, n in pairs(totals) do
  if n > 0 then redis.call('HINCRBY', KEYS[4], what, n) end
end
for q, c in pairs(per_queue) do
  local key = ARGV[4] .. JQ_KEY.queue_stats .. q
  for what, n in pairs(c) do
    if n ~= 0 then redis.call('HINCRBY', key, what, n) end
  end
end
if totals.failed > 0 then
  -- cap the dead set: the oldest entries go (their hashes expire on their own)
  local cap = tonumber(ARGV[3])
  if redis.call('ZCARD', KEYS[2]) > cap then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -cap - 1)
  end
end
return out
