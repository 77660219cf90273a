# Turns common/scripts/*.lua into a C source of NUL-terminated strings.
# Invoked as: cmake -DOUT=file.c -DSCRIPTS="a.lua|b.lua" -P embed_scripts.cmake
string(REPLACE "|" ";" SCRIPTS "${SCRIPTS}")
set(body "/* generated from common/scripts/ (Lua) by cmake/embed_scripts.cmake */\n")
foreach(path IN LISTS SCRIPTS)
  get_filename_component(name "${path}" NAME_WE)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "const char jq_lua_${name}[] = {${hex}0x00};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
