#!lua
-- enqueue: store new jobs and make them visible to workers, in one atomic step
-- (one job for POST /jobs, many for POST /jobs/bulk).
-- KEYS[1] set of queue names, KEYS[2] stats hash, KEYS[3] id counter, KEYS[4] scheduled
--   zset, KEYS[5] the promoters' wake list, KEYS[6] the idempotency key (read and written
--   only when ARGV[1] is not 0), then per job its hash, in the order of the jobs below.
--   A queue's keys (list, wake list, stats hash) are built here from the key prefix and
--   its name, once per queue and call: three keys fewer per job to send and parse.
-- ARGV[1] idempotency window ms (0: none), ARGV[2] the key prefix
--   job keys are named from (lib/keys.lua jq_id_key: to read the state of the job an
--   idempotency or unique key names; that job's id has the hash tag of its own bucket), ARGV[3] the
--   unique key prefix ("<prefix>unique:"), ARGV[4] the key prefix (the names of keys.h:
--   '<prefix>q:<queue>', 'wake:<queue>', 'queue-stats:<queue>', 'type-stats:<queue>'),
--   ARGV[5] the largest job id of the call, ARGV[6] the length L of the batch section
--   that follows (0: the jobs are no batch), then the jobs, in runs.
-- A run is consecutive jobs that share everything but their ids, unique keys and
-- payloads (a bulk request of like jobs is one run): m, queue name, priority level
-- (0..9), delay ms (0: none), run at epoch ms (0: none), u (1: each job has a unique
-- key), w (1: each job has a payload), s, then s values: the fields the run's jobs share
-- as name, value pairs ('type' first), then the m ids, then per job its unique key if u
-- and its payload if w. So a job costs Redis its key, its id and its payload, and the
-- script one HSET: the per-field work is done once per run (docs/benchmarks.md measures
-- what it saved).
-- A pending job goes to the list of its priority (lib/queue.lua). A job with a unique key
-- (stored as its 'unique_key' field) is refused while the job stored under that key
-- (<prefix>unique:<key>) is pending, scheduled or running; once that job has ended or its
-- hash expired, the key is taken over (checked here, lazily: no other script releases it).
-- The batch section (POST /batches; each job's shared pairs then include 'batch', <id>):
--   batch hash key, its callback key, keep ms once finished, m, then m values: the
--   callback job's name, value pairs (m = 0: no callback). The batch hash counts its
--   members' end states (lib/batch.lua); the callback waits under its key until the last
--   ends.
-- A job with a delay or a run-at time in the future is 'scheduled' (run_at in its hash, its
-- id in the scheduled zset) and one idle worker is woken to time its promotion.
-- created_at is Redis' clock (TIME), so brokers and workers on many machines agree.
-- Fields at their default (queue 'default', max_attempts 3, attempts 0, priority 0,
-- timeout_ms 0, a null payload) are not stored: every reader knows the defaults
-- (docs/redis.md).
-- Returns the number of jobs stored, or {what, state} of the call stored earlier under
-- the same idempotency key (what: as stored, below; state: the job's, for one job), or {'unique', id, index} when the job at index (0-based) names the
-- unique key of live job id (nothing is written in either case).
-- @include keys
-- @include queue
if ARGV[1] ~= '0' then
  local prev = redis.call('GET', KEYS[6])
  if prev then
    local state = tonumber(prev) and redis.call('HGET', jq_id_key(ARGV[2], JQ_KEY.job, prev), 'state')
    return {prev, state or 'expired'}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- as text once: Redis formats a Lua number passed to a command with %.17g on every call
local now_s = string.format('%d', now)
-- Redis commands take many keys or values at once where they can: a bulk call then costs
-- one HSET per job and a few calls in all. CHUNK bounds unpack() (Lua's stack holds
-- ~8,000 values).
local CHUNK = 1000
-- an id is never reused: refuse the whole call before writing anything
for i = 7, #KEYS, CHUNK do
  local last = math.min(i + CHUNK - 1, #KEYS)
  if redis.call('EXISTS', unpack(KEYS, i, last)) > 0 then
    for k = i, last do
      if redis.call('EXISTS', KEYS[k]) == 1 then
        return redis.error_reply('ID_TAKEN ' .. KEYS[k] .. ' already exists')
      end
    end
  end
end
local prefix = ARGV[4]
local L = tonumber(ARGV[6])
local first_run = 7 + L
-- The runs, read once: r.at is the index of its m in ARGV.
local runs = {}
do
  local a = first_run
  while a <= #ARGV do
    local m, s = tonumber(ARGV[a]), tonumber(ARGV[a + 7])
    local r = {at = a, m = m, s = s, u = ARGV[a + 5] == '1', w = ARGV[a + 6] == '1'}
    r.ids = a + 8 + s
    r.own = r.ids + m
    r.per = (r.u and 1 or 0) + (r.w and 1 or 0)
    runs[#runs + 1] = r
    a = r.own + m * r.per
  end
end
-- refuse the whole call (nothing written) if a unique key is held by a live job
do
  local seen = {}
  local live = {pending = true, scheduled = true, running = true}
  local index = 0
  for _, r in ipairs(runs) do
    if r.u then
      for i = 0, r.m - 1 do
        local ukey = ARGV[3] .. ARGV[r.own + i * r.per]
        if seen[ukey] then
          return redis.error_reply('UNIQUE_DUP ' .. ukey .. ' twice in one call')
        end
        seen[ukey] = true
        local holder = redis.call('GET', ukey)
        if holder and live[redis.call('HGET', jq_id_key(ARGV[2], JQ_KEY.job, holder), 'state') or ''] then
          return {'unique', holder, index + i}
        end
      end
    end
    index = index + r.m
  end
end
if L > 0 then
  if redis.call('EXISTS', ARGV[7]) == 1 then
    return redis.error_reply('ID_TAKEN ' .. ARGV[7] .. ' already exists')
  end
  local total = #KEYS - 6
  redis.call('HSET', ARGV[7], 'total', total, 'created_at', now, 'keep_ms', ARGV[9])
  local m = tonumber(ARGV[10])
  if m > 0 then
    redis.call('HSET', ARGV[8], unpack(ARGV, 11, 10 + m))
  end
end
local scheduled = 0
-- what this call does to each queue, keyed by its name
local queues = {}
local k = 7 -- the next job's key
for _, r in ipairs(runs) do
  local a, m = r.at, r.m
  local q = ARGV[a + 1]
  local qi = queues[q]
  if not qi then
    local qk = prefix .. JQ_KEY.queue .. q
    -- the queue's followers (GET /ws) see the job from its start; asked once per queue and
    -- call, so 10,000 jobs cost no 10,000 PUBLISHes for nobody
    local ch = qk .. JQ_SUFFIX.events
    qi = {name = q, key = qk, stats = prefix .. JQ_KEY.queue_stats .. q,
          wake = prefix .. JQ_KEY.wake .. q, enqueued = 0, scheduled = 0, woken = false,
          types = {}, channel = redis.call('PUBSUB', 'NUMSUB', ch)[2] > 0 and ch}
    queues[q] = qi
    redis.call('SADD', KEYS[1], q)
  end
  local due = ARGV[a + 4] == '0' and 0 or tonumber(ARGV[a + 4])
  if due == 0 and ARGV[a + 3] ~= '0' then
    due = now + tonumber(ARGV[a + 3])
  end
  local later = due > now
  -- the HSET of one job: its key and own values are put in place per job
  local h = {'', 'state', later and 'scheduled' or 'pending', 'created_at', now_s}
  if later then
    h[6], h[7] = 'run_at', string.format('%d', due)
  end
  for v = a + 8, a + 7 + r.s do
    h[#h + 1] = ARGV[v]
  end
  local uslot, pslot
  if r.u then
    h[#h + 1] = 'unique_key'
    h[#h + 1] = ''
    uslot = #h
  end
  if r.w then
    h[#h + 1] = 'payload'
    h[#h + 1] = ''
    pslot = #h
  end
  local own, per, ids = r.own, r.per, r.ids
  for i = 0, m - 1 do
    h[1] = KEYS[k]
    if uslot then h[uslot] = ARGV[own] end
    if pslot then h[pslot] = ARGV[own + per - 1] end
    redis.call('HSET', unpack(h))
    if uslot then
      redis.call('SET', ARGV[3] .. ARGV[own], ARGV[ids + i])
    end
    own = own + per
    k = k + 1
  end
  if qi.channel then
    -- its first event: number 0 (lib/events.lua counts from here)
    local what = later and ' 0 scheduled' or ' 0 pending'
    for i = ids, ids + m - 1 do
      redis.call('PUBLISH', qi.channel, ARGV[i] .. what)
    end
  end
  if later then
    local z = {}
    for i = ids, ids + m - 1 do
      z[#z + 1] = h[7]
      z[#z + 1] = ARGV[i]
    end
    for i = 1, #z, CHUNK do
      redis.call('ZADD', KEYS[4], unpack(z, i, math.min(i + CHUNK - 1, #z)))
    end
    scheduled = scheduled + m
    qi.scheduled = qi.scheduled + m
  else
    -- one LPUSH per run and list (jq_push_many: the layout of lib/queue.lua), in order
    local level = tonumber(ARGV[a + 2])
    for i = ids, ids + m - 1, CHUNK do
      jq_push_many(qi.key, level, ARGV, i, math.min(i + CHUNK - 1, ids + m - 1))
    end
    -- one wake-up token is enough: a worker that fetches passes it on while jobs remain
    if not qi.woken then
      qi.woken = true
      if redis.call('LLEN', qi.wake) == 0 then
        redis.call('LPUSH', qi.wake, 1)
      end
    end
  end
  qi.enqueued = qi.enqueued + m
  -- the type: the encoder puts it first (enqueue_args.c); any order is read
  local ty = ARGV[a + 8] == 'type' and ARGV[a + 9]
  for v = a + 10, ty and 0 or a + 7 + r.s, 2 do
    if ARGV[v] == 'type' then
      ty = ARGV[v + 1]
      break
    end
  end
  if ty then
    qi.types[ty] = (qi.types[ty] or 0) + m
  end
end
if scheduled > 0 and redis.call('LLEN', KEYS[5]) == 0 then
  redis.call('LPUSH', KEYS[5], 1)
end
-- keep the counter ahead of every stored id, even after it was reset (FLUSHALL, a
-- restore): ids a broker reserved earlier then never collide with new blocks
if tonumber(redis.call('GET', KEYS[3]) or '0') < tonumber(ARGV[5]) then
  redis.call('SET', KEYS[3], ARGV[5])
end
for _, qi in pairs(queues) do
  redis.call('HINCRBY', qi.stats, 'enqueued', qi.enqueued)
  if qi.scheduled > 0 then
    redis.call('HINCRBY', qi.stats, 'scheduled', qi.scheduled)
  end
  local key = prefix .. JQ_KEY.type_stats .. qi.name
  for ty, n in pairs(qi.types) do
    redis.call('HINCRBY', key, ty .. '|enqueued', n)
  end
end
local count = #KEYS - 6
if ARGV[1] ~= '0' then
  -- what a repeat answers with: the job's id; 'bulk:<first id>:<n>' for several jobs
  -- (their ids follow each other); 'batch:<batch id>:<n>' for a batch (its jobs after it)
  local last = tonumber(ARGV[5])
  local stored = ARGV[5]
  if L > 0 then
    stored = string.format('batch:%d:%d', last - count, count)
  elseif count > 1 then
    stored = string.format('bulk:%d:%d', last - count + 1, count)
  end
  redis.call('SET', KEYS[6], stored, 'PX', ARGV[1])
end
redis.call('HINCRBY', KEYS[2], 'enqueued', count)
return count
