-- lib/queue.lua: the pending lists of one queue and its job priorities. Not a script of its
-- own: every script that pushes, pops, removes or counts pending jobs includes it
-- (-- @include queue, replaced at build time by cmake/embed_scripts.cmake), so the layout
-- below is written once.
-- Priority 0 (the default) is the queue list itself, <p>q:<name>; priority 1..9 has its
-- own list '<queue list>#p<N>', and '<queue list>#prio' is a zset of the levels whose list
-- holds jobs (member and score N), so a fetch with no priorities in use costs one read.
-- '#' is not allowed in queue names: these names never collide with another queue's list.
-- In every list LPUSH joins the end of the line and RPOP takes the first (FIFO per level).
local JQ_PRIO_MAX = 9

local function jq_level_key(qkey, prio)
  return qkey .. JQ_SUFFIX.level .. prio
end

local function jq_levels_key(qkey)
  return qkey .. JQ_SUFFIX.levels
end

-- The level of a job from its 'priority' field: absent is 0; a value stored before
-- priorities were 0..9 (older brokers took -1000..1000) is clamped into 0..9.
local function jq_prio(v)
  local p = math.floor(tonumber(v or '0') or 0)
  if p < 0 then return 0 end
  if p > JQ_PRIO_MAX then return JQ_PRIO_MAX end
  return p
end

-- Puts id on its level of queue qkey: cmd 'LPUSH' at the end of the line, 'RPUSH' first.
local function jq_push(qkey, prio, id, cmd)
  if prio == 0 then
    return redis.call(cmd, qkey, id)
  end
  redis.call('ZADD', jq_levels_key(qkey), prio, prio)
  return redis.call(cmd, jq_level_key(qkey, prio), id)
end

-- Puts ids[i..j] at the end of the line of its level of queue qkey, in order: one LPUSH.
local function jq_push_many(qkey, prio, ids, i, j)
  if prio == 0 then
    return redis.call('LPUSH', qkey, unpack(ids, i, j))
  end
  redis.call('ZADD', jq_levels_key(qkey), prio, prio)
  return redis.call('LPUSH', jq_level_key(qkey, prio), unpack(ids, i, j))
end

-- Takes id out of its level (a cancelled pending job); the level leaves the index when empty.
local function jq_remove(qkey, prio, id)
  if prio == 0 then
    return redis.call('LREM', qkey, 1, id)
  end
  local lk = jq_level_key(qkey, prio)
  local n = redis.call('LREM', lk, 1, id)
  if redis.call('LLEN', lk) == 0 then
    redis.call('ZREM', jq_levels_key(qkey), prio)
  end
  return n
end

-- The lists of queue qkey in the order they are served: its levels, highest first, then
-- the queue list itself (priority 0). Also returns the levels, in the same order.
local function jq_lists(qkey)
  local levels = redis.call('ZREVRANGE', jq_levels_key(qkey), 0, -1)
  local lists = {}
  for k, p in ipairs(levels) do
    lists[k] = jq_level_key(qkey, p)
  end
  lists[#lists + 1] = qkey
  return lists, levels
end

-- Pending jobs of queue qkey, all levels.
local function jq_depth(qkey)
  local n = 0
  for _, l in ipairs(jq_lists(qkey)) do
    n = n + redis.call('LLEN', l)
  end
  return n
end

-- True while any level of queue qkey holds a job (the index lists only non-empty levels).
local function jq_has_jobs(qkey)
  return redis.call('LLEN', qkey) > 0 or redis.call('ZCARD', jq_levels_key(qkey)) > 0
end
