-- lib/events.lua: a job's events (docs/redis.md, Events). Not a script of its own: every
-- script that publishes a change of a job includes it (-- @include events).
-- Each event of a job takes the next number of its 'seq' field (absent: 0, the enqueue),
-- so a client that hears a job over two connections can order what it gets. qch is the
-- job's queue's channel, or nil/false when nobody follows it.
local function jq_event(jk, qch, id, text)
  local seq = redis.call('HINCRBY', jk, 'seq', 1)
  redis.call('PUBLISH', jk .. JQ_SUFFIX.events, seq .. ' ' .. text)
  if qch then
    redis.call('PUBLISH', qch, id .. ' ' .. seq .. ' ' .. text)
  end
end
