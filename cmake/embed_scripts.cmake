# Turns files (common/scripts/*.lua, broker/static/*) into a C source of NUL-terminated
# strings named SYMBOL_PREFIX (default jq_lua_) + the file's base name.
# Invoked as: cmake -DOUT=file.c -DSCRIPTS="a.lua|b.lua" -P embed_scripts.cmake
string(REPLACE "|" ";" SCRIPTS "${SCRIPTS}")
set(body "/* generated from common/scripts/ (Lua) by cmake/embed_scripts.cmake */\n")
foreach(path IN LISTS SCRIPTS)
  get_filename_component(name "${path}" NAME_WE)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  if(NOT DEFINED SYMBOL_PREFIX)
    set(SYMBOL_PREFIX jq_lua_)
  endif()
  string(APPEND body "const char ${SYMBOL_PREFIX}${name}[] = {${hex}0x00};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
