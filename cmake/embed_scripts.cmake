# Turns files (common/store/scripts/*.lua, broker/static/*) into a C source of
# NUL-terminated strings named SYMBOL_PREFIX (default jq_lua_) + the file's base name.
# Invoked as: cmake -DOUT=file.c -DSCRIPTS="a.lua|b.lua" -P embed_scripts.cmake
# A Lua line "-- @include NAME" is replaced by the text of lib/NAME.lua beside the script,
# or in GENLIB (a folder of generated libraries: keys.lua, from the key table): Redis
# scripts cannot call each other, so helpers several scripts share live there once.
# With -DEXPANDED=dir, each script is also written there as Redis gets it (tests load
# them from there: JOBQ_SCRIPTS_DIR).
#
# With -DTABLE=name -DTABLE_HEADER=header.h (the broker's static files), the symbols are
# file-local and named after the whole file name ("app.js" -> <prefix>app_js), and the
# source also defines `const struct jq_static_file name[]` (declared in the header):
# {file name, bytes, length, ETag} per file, ending with a NULL name. The ETag is the
# first 16 hex digits of the file's SHA-1, quoted, so it changes with the content.
string(REPLACE "|" ";" SCRIPTS "${SCRIPTS}")
if(NOT DEFINED SYMBOL_PREFIX)
  set(SYMBOL_PREFIX jq_lua_)
endif()
if(DEFINED TABLE)
  set(body "/* generated from broker/static/ by cmake/embed_scripts.cmake */\n")
  string(APPEND body "#include <stddef.h>\n#include \"${TABLE_HEADER}\"\n")
  set(rows "")
else()
  set(body "/* generated from common/scripts/ (Lua) by cmake/embed_scripts.cmake */\n")
endif()
foreach(path IN LISTS SCRIPTS)
  file(READ "${path}" hex HEX)
  if(path MATCHES "\\.lua$")
    file(READ "${path}" text)
    string(REGEX MATCHALL "-- @include [a-z_]+" incs "${text}")
    if(incs)
      get_filename_component(dir "${path}" DIRECTORY)
      foreach(inc IN LISTS incs)
        string(REPLACE "-- @include " "" lib "${inc}")
        if(EXISTS "${dir}/lib/${lib}.lua")
          file(READ "${dir}/lib/${lib}.lua" libtext)
        else()
          file(READ "${GENLIB}/${lib}.lua" libtext)
        endif()
        string(REPLACE "${inc}" "${libtext}" text "${text}")
      endforeach()
      file(WRITE "${OUT}.lua.tmp" "${text}")
      file(READ "${OUT}.lua.tmp" hex HEX)
      file(REMOVE "${OUT}.lua.tmp")
    endif()
    if(DEFINED EXPANDED)
      get_filename_component(base "${path}" NAME)
      file(WRITE "${EXPANDED}/${base}.tmp" "${text}")
      file(COPY_FILE "${EXPANDED}/${base}.tmp" "${EXPANDED}/${base}" ONLY_IF_DIFFERENT)
      file(REMOVE "${EXPANDED}/${base}.tmp")
    endif()
  endif()
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  if(DEFINED TABLE)
    get_filename_component(file "${path}" NAME)
    string(MAKE_C_IDENTIFIER "${file}" ident)
    file(SHA1 "${path}" sha)
    string(SUBSTRING "${sha}" 0 16 etag)
    string(APPEND body "static const char ${SYMBOL_PREFIX}${ident}[] = {${hex}0x00};\n")
    string(APPEND rows "    {\"${file}\", ${SYMBOL_PREFIX}${ident}, "
                       "sizeof(${SYMBOL_PREFIX}${ident}) - 1, \"\\\"${etag}\\\"\"},\n")
  else()
    get_filename_component(name "${path}" NAME_WE)
    string(APPEND body "const char ${SYMBOL_PREFIX}${name}[] = {${hex}0x00};\n")
  endif()
endforeach()
if(DEFINED TABLE)
  string(APPEND body "const struct jq_static_file ${TABLE}[] = {\n${rows}    {NULL, NULL, 0, NULL}};\n")
endif()
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
