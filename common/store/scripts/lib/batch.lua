-- lib/batch: counts the members of a batch (POST /batches) as they reach an end state,
-- and fires the batch's callback job once, when the last member ends.
-- Included (-- @include batch, after -- @include queue and -- @include events) by the
-- scripts that end jobs: finish, cancel, reap, dead.
-- Keys are built from the prefix, as those scripts build job keys:
--   <p>batch:<id>           hash: total, completed, failed, cancelled, created_at, keep_ms,
--                           finished_at, callback_id
--   <p>batch:<id>:callback  the callback job's fields, renamed to <p>job:<new id> when fired
-- batch_count(prefix, batch id, 'completed'|'failed'|'cancelled', +1 or -1, now ms):
-- -1 takes a member back (retried from the dead set); a finished batch stays finished
-- and its callback never fires twice.
local function batch_count(prefix, batch, what, delta, now)
  local bk = jq_id_key(prefix, JQ_KEY.batch, batch)
  if redis.call('EXISTS', bk) == 0 then
    return -- expired (or never written): nothing to count
  end
  redis.call('HINCRBY', bk, what, delta)
  if delta < 0 then
    return
  end
  local f = redis.call('HMGET', bk, 'total', 'completed', 'failed', 'cancelled', 'finished_at',
                       'keep_ms')
  local ended = tonumber(f[2] or '0') + tonumber(f[3] or '0') + tonumber(f[4] or '0')
  if f[5] or ended < tonumber(f[1] or '0') then
    return
  end
  redis.call('HSET', bk, 'finished_at', now)
  local ck = bk .. JQ_SUFFIX.callback
  if redis.call('EXISTS', ck) == 1 then
    -- INCR on the shared id counter: brokers reserve blocks with INCRBY, so the id is new
    local id = redis.call('INCR', prefix .. JQ_KEY.ids)
    local jk = jq_id_key(prefix, JQ_KEY.job, id)
    redis.call('RENAME', ck, jk)
    redis.call('HSET', jk, 'state', 'pending', 'created_at', now)
    local cf = redis.call('HMGET', jk, 'queue', 'priority', 'type', 'unique_key')
    local q = cf[1] or 'default' -- not stored at its default
    redis.call('SADD', prefix .. JQ_KEY.queues, q)
    jq_push(prefix .. JQ_KEY.queue .. q, jq_prio(cf[2]), id, 'LPUSH') -- lib/queue.lua
    redis.call('HINCRBY', prefix .. JQ_KEY.queue_stats .. q, 'enqueued', 1)
    redis.call('HINCRBY', prefix .. JQ_KEY.stats, 'enqueued', 1)
    redis.call('HINCRBY', prefix .. JQ_KEY.type_stats .. q, (cf[3] or '') .. '|enqueued', 1)
    if cf[4] then -- it takes its unique key over, as enqueue does
      redis.call('SET', prefix .. JQ_KEY.unique .. cf[4], id)
    end
    local wake = prefix .. JQ_KEY.wake .. q
    if redis.call('LLEN', wake) == 0 then
      redis.call('LPUSH', wake, 1)
    end
    redis.call('HSET', bk, 'callback_id', id)
    jq_event(jk, prefix .. JQ_KEY.queue .. q .. JQ_SUFFIX.events, id, 'pending') -- lib/events.lua
  end
  redis.call('PUBLISH', bk .. JQ_SUFFIX.events, 'finished')
  redis.call('PEXPIRE', bk, tonumber(f[6] or '86400000'))
end
