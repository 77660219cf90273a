#!lua
-- dead: list, retry or purge the dead-letter set, each in one atomic step.
-- KEYS[1] dead zset
-- ARGV[1] 'list', 'retry' or 'purge', ARGV[2] key prefix (job, queue and wake keys are
--   built from it, as fetch does)
-- list:  ARGV[3] offset, ARGV[4] count -> flat {id, failed_at, type, queue, attempts, error}
--        per entry, newest first; entries whose hash expired are dropped from the set
-- retry: ARGV[3] id -> 1 requeued (at the end of the line of its priority), 0 not in the
--        dead set, -1 its job hash expired, {-2, holder id} its unique_key is held by
--        another job that is pending, scheduled or running (nothing changed: the job stays
--        dead). A retried job with a unique_key takes the key back (<prefix>unique:<key>).
-- purge: -> number of jobs deleted
-- @include keys
-- @include queue
-- @include events
-- @include batch
local prefix = ARGV[2]
if ARGV[1] == 'list' then
  local out = {}
  local entries = redis.call('ZREVRANGE', KEYS[1], tonumber(ARGV[3]),
                             tonumber(ARGV[3]) + tonumber(ARGV[4]) - 1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local id = entries[i]
    local f = redis.call('HMGET', jq_id_key(prefix, JQ_KEY.job, id), 'state', 'type', 'queue', 'attempts',
                        'error')
    if f[1] then
      out[#out + 1] = id
      out[#out + 1] = entries[i + 1]
      out[#out + 1] = f[2] or ''
      out[#out + 1] = f[3] or 'default'
      out[#out + 1] = f[4] or '0'
      out[#out + 1] = f[5] or ''
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
  return out
elseif ARGV[1] == 'retry' then
  local id = ARGV[3]
  if not redis.call('ZSCORE', KEYS[1], id) then
    return 0
  end
  local jk = jq_id_key(prefix, JQ_KEY.job, id)
  local f = redis.call('HMGET', jk, 'state', 'queue', 'priority', 'batch', 'unique_key')
  if not f[1] then
    redis.call('ZREM', KEYS[1], id)
    return -1
  end
  -- its unique key may have gone to a new job meanwhile (enqueue takes over the key of
  -- a job that ended): while that job is live, this one may not run beside it
  local ukey = f[5] and prefix .. JQ_KEY.unique .. f[5]
  if ukey then
    local holder = redis.call('GET', ukey)
    if holder and holder ~= id then
      local st = redis.call('HGET', jq_id_key(prefix, JQ_KEY.job, holder), 'state')
      if st == 'pending' or st == 'scheduled' or st == 'running' then
        return {-2, holder}
      end
    end
    redis.call('SET', ukey, id)
  end
  redis.call('ZREM', KEYS[1], id)
  if f[4] and f[1] == 'failed' then
    local t = redis.call('TIME')
    batch_count(prefix, f[4], 'failed', -1, tonumber(t[1]) * 1000)
  end
  local q = f[2] or 'default' -- not stored at its default
  redis.call('PERSIST', jk)
  local t = redis.call('TIME')
  -- the attempts of its earlier lives, so its error history numbers attempts on from
  -- them (finish.lua) instead of starting at 1 again
  redis.call('HINCRBY', jk, 'attempts_before', tonumber(redis.call('HGET', jk, 'attempts') or '0'))
  redis.call('HSET', jk, 'state', 'pending', 'attempts', 0, 'recoveries', 0,
             'ready_at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('HDEL', jk, 'finished_at', 'worker', 'started_at', 'done', 'total', 'result',
             'cancel_requested')
  jq_push(prefix .. JQ_KEY.queue .. q, jq_prio(f[3]), id, 'LPUSH')
  jq_event(jk, prefix .. JQ_KEY.queue .. q .. JQ_SUFFIX.events, id, 'pending')
  local wake = prefix .. JQ_KEY.wake .. q
  if redis.call('LLEN', wake) == 0 then
    redis.call('LPUSH', wake, 1)
  end
  return 1
elseif ARGV[1] == 'purge' then
  local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, id in ipairs(ids) do
    redis.call('DEL', jq_id_key(prefix, JQ_KEY.job, id))
  end
  redis.call('DEL', KEYS[1])
  return #ids
end
return redis.error_reply('dead: unknown action')
