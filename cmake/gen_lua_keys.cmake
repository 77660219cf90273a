# Writes the Lua side of the key table: lib/keys.lua, from common/store/keys.def, so the
# scripts and the C builders spell each key name once (in keys.def).
# Invoked as: cmake -DDEF=keys.def -DOUT=keys.lua -P gen_lua_keys.cmake
file(STRINGS "${DEF}" lines REGEX "^JQ_(KEY_FIXED|KEY_NAMED|KEY_ID|SUFFIX)\\(")
set(keys "")
set(suffixes "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^JQ_([A-Z_]+)\\(([a-z_]+), *\"([^\"']*)\"\\)")
    message(FATAL_ERROR "keys.def: cannot read '${line}'")
  endif()
  if(CMAKE_MATCH_1 STREQUAL "SUFFIX")
    string(APPEND suffixes "  ${CMAKE_MATCH_2} = '${CMAKE_MATCH_3}',\n")
  else()
    string(APPEND keys "  ${CMAKE_MATCH_2} = '${CMAKE_MATCH_3}',\n")
  endif()
endforeach()
set(text "-- lib/keys.lua: generated from common/store/keys.def by cmake/gen_lua_keys.cmake;\n")
string(APPEND text "-- do not edit. A key is <prefix> .. JQ_KEY.<name> (.. its argument); a suffix is\n")
string(APPEND text "-- appended to another name.\n")
string(APPEND text "local JQ_KEY = {\n${keys}}\nlocal JQ_SUFFIX = {\n${suffixes}}\n")
# the keys of an id (JQ_KEY_ID rows: a job's hash, a batch's) carry the id's bucket as their
# hash tag, as keys.c's fmt_id() builds them: <prefix>{<id mod 16384>}:<name><id>
string(APPEND text "-- The key of an id (JQ_KEY.job, JQ_KEY.batch): <prefix>{<id mod 16384>}:<name><id>,\n")
string(APPEND text "-- under the hash tag of the id's bucket (keys.c, docs/cluster.md). id: text or number.\n")
string(APPEND text "local function jq_id_key(prefix, name, id)\n")
string(APPEND text "  if type(id) == 'number' then id = string.format('%d', id) end -- (INCR's)\n")
# (a bucket, below 16384, is printed exactly by Lua's own number to text: no string.format,
# which costs ~0.3 us a call, per job in fetch)
string(APPEND text "  return prefix .. '{' .. (tonumber(id) % 16384) .. '}:' .. name .. id\n")
string(APPEND text "end\n")
file(WRITE "${OUT}.tmp" "${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
