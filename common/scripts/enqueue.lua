-- enqueue: store new jobs and make them visible to workers, in one atomic step
-- (one job for POST /jobs, many for POST /jobs/bulk).
-- KEYS[1] set of queue names, KEYS[2] stats hash, KEYS[3] id counter, KEYS[4] scheduled
--   zset, KEYS[5] the promoters' wake list, KEYS[6] the idempotency key (read and written
--   only when ARGV[1] is not 0), then per job its hash. A queue's keys (list, wake list,
--   stats hash) are built here from the key prefix and its name, once per queue and call:
--   three keys fewer per job for the broker to send and Redis to parse.
-- ARGV[1] idempotency window ms (0: none; only with one job), ARGV[2] job key prefix
--   ("<prefix>job:", to read the state of the job an idempotency key names), ARGV[3] the
--   unique key prefix ("<prefix>unique:"), ARGV[4] the length L of the batch section that
--   follows (0: the jobs are no batch), then per job: id, queue name, delay ms (0: none),
--   run at epoch ms (0: none), n, then n values: the envelope as name, value pairs (one of
--   them 'type'); after the last job, the key prefix (the names of keys.h: '<prefix>q:<queue>',
--   'wake:<queue>', 'queue-stats:<queue>', 'type-stats:<queue>')
-- A pending job goes to the list of its priority (lib/queue.lua; the 'priority' pair, absent
-- at 0). A job with a 'unique_key' pair is refused while the job stored under that key
-- (<prefix>unique:<key>) is pending, scheduled or running; once that job has ended or its
-- hash expired, the key is taken over (checked here, lazily: no other script releases it).
-- The batch section (POST /batches; each job's pairs then include 'batch', <id>): batch
--   hash key, its callback key, keep ms once finished, m, then m values: the callback
--   job's name, value pairs (m = 0: no callback). The batch hash counts its members'
--   end states (lib/batch.lua); the callback waits under its key until the last ends.
-- A job with a delay or a run-at time in the future is 'scheduled' (run_at in its hash, its
-- id in the scheduled zset) and one idle worker is woken to time its promotion.
-- created_at is Redis' clock (TIME), so brokers and workers on many machines agree.
-- Fields at their default (queue 'default', max_attempts 3, attempts 0, priority 0,
-- timeout_ms 0) are not stored: every reader knows the defaults (docs/redis.md).
-- Returns the number of jobs stored, or {id, state} of the job stored earlier under the
-- same idempotency key, or {'unique', id, index} when the job at index (0-based) names the
-- unique key of live job id (nothing is written in either case).
-- @include queue
if ARGV[1] ~= '0' then
  local prev = redis.call('GET', KEYS[6])
  if prev then
    return {prev, redis.call('HGET', ARGV[2] .. prev, 'state') or 'expired'}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- as text once: Redis formats a Lua number passed to a command with %.17g on every call
local now_s = string.format('%d', now)
-- Redis commands take many keys or values at once where they can: a bulk call then costs
-- one HSET per job and a few calls in all, not three calls per job (bench: Redis time per
-- job in a 1,000-job call). CHUNK bounds unpack() (Lua's stack holds ~8,000 values).
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
-- the priority and unique key of each job, from its envelope pairs; refuse the whole call
-- (nothing written) if a unique key is held by a live job
local per_job = {}
local unique_in_call = {}
local live = {pending = true, scheduled = true, running = true}
local L = tonumber(ARGV[4])
local prefix -- the key prefix, after the jobs
do
  local j = 5 + L
  for k = 7, #KEYS do
    local n = tonumber(ARGV[j + 4])
    local job = {prio = 0, n = n}
    for v = j + 5, j + 3 + n, 2 do
      if ARGV[v] == 'priority' then
        job.prio = jq_prio(ARGV[v + 1])
      elseif ARGV[v] == 'unique_key' then
        job.ukey = ARGV[3] .. ARGV[v + 1]
      end
    end
    if job.ukey then
      if unique_in_call[job.ukey] then
        return redis.error_reply('UNIQUE_DUP ' .. job.ukey .. ' twice in one call')
      end
      unique_in_call[job.ukey] = true
      local holder = redis.call('GET', job.ukey)
      if holder and live[redis.call('HGET', ARGV[2] .. holder, 'state') or ''] then
        return {'unique', holder, #per_job}
      end
    end
    per_job[#per_job + 1] = job
    j = j + 5 + n
  end
  prefix = ARGV[j]
end
local a = 5 + L
if L > 0 then
  if redis.call('EXISTS', ARGV[5]) == 1 then
    return redis.error_reply('ID_TAKEN ' .. ARGV[5] .. ' already exists')
  end
  local total = #KEYS - 6
  redis.call('HSET', ARGV[5], 'total', total, 'created_at', now, 'keep_ms', ARGV[7])
  local m = tonumber(ARGV[8])
  if m > 0 then
    redis.call('HSET', ARGV[6], unpack(ARGV, 9, 8 + m))
  end
end
local maxid = 0
local scheduled = 0
-- what this call does to each queue, keyed by its name: one table lookup per job
-- (its followers, counts, wake-up, types) instead of one per concern
local queues = {}
local pushes = {} -- list key -> ids to LPUSH, in order
local push_order = {} -- {queue key, priority, list key}, in first-use order
for k = 7, #KEYS do
  local job = per_job[k - 6]
  local n = job.n
  local qi = queues[ARGV[a + 1]]
  if not qi then
    local q = ARGV[a + 1]
    local qk = prefix .. 'q:' .. q
    -- the queue's followers (GET /ws) see the job from its start; asked once per queue and
    -- call, so 10,000 jobs cost no 10,000 PUBLISHes for nobody
    local ch = qk .. ':events'
    qi = {name = q, key = qk, stats = prefix .. 'queue-stats:' .. q,
          wake = prefix .. 'wake:' .. q, enqueued = 0, scheduled = 0, woken = false,
          types = {}, channel = redis.call('PUBSUB', 'NUMSUB', ch)[2] > 0 and ch}
    queues[q] = qi
    redis.call('SADD', KEYS[1], q)
  end
  local qk = qi.key
  -- most jobs have neither a run-at time nor a delay: no number parsing for them
  local due = ARGV[a + 3] == '0' and 0 or tonumber(ARGV[a + 3])
  if due == 0 and ARGV[a + 2] ~= '0' then
    due = now + tonumber(ARGV[a + 2])
  end
  qi.enqueued = qi.enqueued + 1
  if due > now then
    redis.call('HSET', KEYS[k], 'state', 'scheduled', 'run_at', due, 'created_at', now_s,
               unpack(ARGV, a + 5, a + 4 + n))
    redis.call('ZADD', KEYS[4], due, ARGV[a])
    scheduled = scheduled + 1
    qi.scheduled = qi.scheduled + 1
  else
    redis.call('HSET', KEYS[k], 'state', 'pending', 'created_at', now_s,
               unpack(ARGV, a + 5, a + 4 + n))
    local lk = job.prio == 0 and qk or jq_level_key(qk, job.prio)
    local ids = pushes[lk]
    if not ids then
      ids = {}
      pushes[lk] = ids
      push_order[#push_order + 1] = {qk, job.prio, lk}
    end
    ids[#ids + 1] = ARGV[a]
    -- one wake-up token is enough: a worker that fetches passes it on while jobs remain
    if not qi.woken then
      qi.woken = true
      if redis.call('LLEN', qi.wake) == 0 then
        redis.call('LPUSH', qi.wake, 1)
      end
    end
  end
  if job.ukey then
    redis.call('SET', job.ukey, ARGV[a])
  end
  if qi.channel then
    redis.call('PUBLISH', qi.channel, ARGV[a] .. (due > now and ' scheduled' or ' pending'))
  end
  local id = tonumber(ARGV[a])
  if id > maxid then maxid = id end
  -- the type: the encoder puts it first (enqueue_args.c); any order is read
  local ty = ARGV[a + 5] == 'type' and ARGV[a + 6]
  for j = a + 7, ty and 0 or a + 4 + n, 2 do
    if ARGV[j] == 'type' then
      ty = ARGV[j + 1]
      break
    end
  end
  if ty then
    qi.types[ty] = (qi.types[ty] or 0) + 1
  end
  a = a + 5 + n
end
-- one LPUSH per list (jq_push_many: the layout of lib/queue.lua), in arrival order
for _, p in ipairs(push_order) do
  local ids = pushes[p[3]]
  for i = 1, #ids, CHUNK do
    jq_push_many(p[1], p[2], ids, i, math.min(i + CHUNK - 1, #ids))
  end
end
if scheduled > 0 and redis.call('LLEN', KEYS[5]) == 0 then
  redis.call('LPUSH', KEYS[5], 1)
end
-- keep the counter ahead of every stored id, even after it was reset (FLUSHALL, a
-- restore): ids a broker reserved earlier then never collide with new blocks
if tonumber(redis.call('GET', KEYS[3]) or '0') < maxid then
  redis.call('SET', KEYS[3], maxid)
end
for _, qi in pairs(queues) do
  redis.call('HINCRBY', qi.stats, 'enqueued', qi.enqueued)
  if qi.scheduled > 0 then
    redis.call('HINCRBY', qi.stats, 'scheduled', qi.scheduled)
  end
  local key = prefix .. 'type-stats:' .. qi.name
  for ty, n in pairs(qi.types) do
    redis.call('HINCRBY', key, ty .. '|enqueued', n)
  end
end
if ARGV[1] ~= '0' then
  redis.call('SET', KEYS[6], maxid, 'PX', ARGV[1])
end
local count = #KEYS - 6
redis.call('HINCRBY', KEYS[2], 'enqueued', count)
return count
