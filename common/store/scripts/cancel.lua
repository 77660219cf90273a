#!lua
-- cancel: stop a job. A pending or scheduled job becomes cancelled at once and never
-- runs; a running one is marked, and its worker is told on the cancel channel (and by its
-- next heartbeat) to stop it and finish it as cancelled.
-- KEYS[1] job hash, KEYS[2] scheduled zset
-- ARGV[1] id, ARGV[2] key prefix (queue, queue and type stats and channel names are built from it
--   and the job's queue), ARGV[3] keep cancelled jobs ms
-- A pending job is taken out of the list of its priority (lib/queue.lua).
-- Returns 1 cancelled now, 2 running (stop requested), 3 already finished, 0 unknown job.
-- @include keys
-- @include queue
-- @include events
-- @include batch
local f = redis.call('HMGET', KEYS[1], 'state', 'queue', 'priority', 'batch', 'type')
if not f[1] then
  return 0
end
local q = f[2] or 'default' -- not stored at its default
local qstats = ARGV[2] .. JQ_KEY.queue_stats .. q
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if f[1] == 'pending' or f[1] == 'scheduled' then
  if f[1] == 'pending' then
    jq_remove(ARGV[2] .. JQ_KEY.queue .. q, jq_prio(f[3]), ARGV[1])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('HINCRBY', qstats, 'scheduled', -1)
  end
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('HINCRBY', qstats, 'cancelled', 1)
  redis.call('HINCRBY', ARGV[2] .. JQ_KEY.type_stats .. q, (f[5] or '') .. '|cancelled', 1)
  jq_event(KEYS[1], ARGV[2] .. JQ_KEY.queue .. q .. JQ_SUFFIX.events, ARGV[1], 'cancelled')
  if f[4] then
    batch_count(ARGV[2], f[4], 'cancelled', 1, now)
  end
  return 1
elseif f[1] == 'running' then
  redis.call('HSET', KEYS[1], 'cancel_requested', 1)
  redis.call('PUBLISH', ARGV[2] .. JQ_KEY.cancel_channel, ARGV[1])
  return 2
end
return 3
