#!lua
-- cron_claim: claim one tick of a periodic schedule, so that it fires exactly once however
-- many brokers and workers race for it. Sent in one MULTI just before the enqueue script
-- call that stores the tick's job under the Idempotency-Key KEYS[3]
-- ("<p>idem:cron:<name>:<tick s>"):
--   * the schedule's next run is still the one the firer read (compare and set): move it
--     to the next tick, record the tick and the job id in its state, and clear a
--     loser's marker from KEYS[3]; the enqueue that follows stores the job.
--   * it is not, or the definition is no longer the one the firer read (another process
--     fired it, or the schedule was deleted or replaced meanwhile, even by a PUT that kept
--     its next run): mark KEYS[3] with '0' unless it names a job already, so that the
--     enqueue that follows finds the key and stores nothing.
-- KEYS[1] schedule-next zset, KEYS[2] schedule-state hash, KEYS[3] the tick's idempotency
-- key, KEYS[4] the schedules hash (name -> definition)
-- ARGV[1] name, ARGV[2] the next run the firer read (ms), ARGV[3] the tick fired (ms),
-- ARGV[4] the run after it (ms), ARGV[5] the job id, ARGV[6] the idempotency key's life (ms),
-- ARGV[7] the definition the firer read (the job it stores is made from it)
-- Returns 1 when claimed, 0 when not.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) or
   redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[7] then
  redis.call('SET', KEYS[3], '0', 'NX', 'PX', ARGV[6])
  return 0
end
local job = ARGV[5]
local prev = redis.call('GET', KEYS[3])
if prev == '0' then
  redis.call('DEL', KEYS[3])
elseif prev then
  job = prev -- stored already (only if a clock went back): the enqueue stores nothing
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
local raw = redis.call('HGET', KEYS[2], ARGV[1])
local st = raw and cjson.decode(raw) or {}
st.last_tick = tonumber(ARGV[3])
st.last_job_id = tonumber(job)
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(st))
return 1
