#!lua
-- schedules: create, replace, delete and list periodic schedules (POST/PUT/GET/DELETE
-- /schedules, and the schedules of a --schedule-file at start-up), each one atomic step.
-- KEYS[1] schedules hash (name -> definition JSON {"cron", "job"}), KEYS[2] schedule-next
--   zset (name -> next run, epoch ms), KEYS[3] schedule-state hash (name -> state JSON
--   {"created_at", "updated_at", "source", "last_tick", "last_job_id"})
-- ARGV[1] the operation:
--   'put', ARGV[2] name, ARGV[3] definition, ARGV[4] first run ms (used when the
--     definition is new or changed), ARGV[5] 'create' (refuse a name in use) or 'replace',
--     ARGV[6] source ('api' or 'config'), ARGV[7] most schedules kept.
--     Returns {status, name, definition, next, state}; status is 'created', 'replaced',
--     'unchanged' (the same definition: its next run and history are kept, so brokers
--     and workers starting with the same config file change nothing), 'exists' or 'full'
--     (nothing written for those two).
--   'del', ARGV[2] name: returns 1, or 0 if there was no such schedule
--   'list', ARGV[2] a name, or '' for all: returns name, definition, next, state for each,
--     sorted by name, flat
local function entry(name)
  local def = redis.call('HGET', KEYS[1], name)
  if not def then return nil end
  return {name, def, redis.call('ZSCORE', KEYS[2], name) or '',
          redis.call('HGET', KEYS[3], name) or '{}'}
end

local op = ARGV[1]
if op == 'put' then
  local name, def = ARGV[2], ARGV[3]
  local old = redis.call('HGET', KEYS[1], name)
  if old and ARGV[5] == 'create' then
    return {'exists'}
  end
  if not old and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then
    return {'full'}
  end
  if old == def and redis.call('ZSCORE', KEYS[2], name) then
    local e = entry(name)
    return {'unchanged', e[1], e[2], e[3], e[4]}
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local st = {}
  local raw = redis.call('HGET', KEYS[3], name)
  if old and raw then st = cjson.decode(raw) end
  if not old or not st.created_at then st.created_at = now end
  st.updated_at = now
  st.source = ARGV[6]
  redis.call('HSET', KEYS[1], name, def)
  redis.call('ZADD', KEYS[2], ARGV[4], name)
  redis.call('HSET', KEYS[3], name, cjson.encode(st))
  local e = entry(name)
  return {old and 'replaced' or 'created', e[1], e[2], e[3], e[4]}
elseif op == 'del' then
  local n = redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
  return n
elseif op == 'list' then
  local names
  if ARGV[2] ~= '' then names = {ARGV[2]} else names = redis.call('HKEYS', KEYS[1]) end
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    local e = entry(name)
    if e then
      for _, v in ipairs(e) do out[#out + 1] = v end
    end
  end
  return out
end
return redis.error_reply('ERR unknown schedules operation')
