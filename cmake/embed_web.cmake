# Writes OUT, a C++ source holding every file under SRC (the web player,
# web/) as bytes with its media type, for digm-seed to serve with no file
# needed at run time. Run by the build: cmake -DSRC=web -DOUT=x.cc -P this.
file(GLOB_RECURSE files RELATIVE "${SRC}" "${SRC}/*")
list(SORT files)
set(arrays "")
set(table "")
set(i 0)
foreach(f IN LISTS files)
  if(f MATCHES "(^|/)\\.")  # no hidden files
    continue()
  endif()
  get_filename_component(ext "${f}" LAST_EXT)
  if(ext STREQUAL ".html")
    set(mime "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js" OR ext STREQUAL ".mjs")
    set(mime "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(mime "text/css; charset=utf-8")
  elseif(ext STREQUAL ".svg")
    set(mime "image/svg+xml")
  elseif(ext STREQUAL ".png")
    set(mime "image/png")
  else()
    set(mime "text/plain; charset=utf-8")
  endif()
  file(READ "${SRC}/${f}" hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR size "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND arrays "const char kFile${i}[] = {${bytes} 0};\n")
  string(APPEND table "    {\"/${f}\", \"${mime}\", std::string_view(kFile${i}, ${size})},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from web/ by cmake/embed_web.cmake; do not edit.
#include \"digm/web_assets.h\"

#include <array>

namespace digm {
namespace {

${arrays}
}  // namespace

std::span<const WebAsset> WebAssets() {
  static const WebAsset kAssets[] = {
${table}  };
  return kAssets;
}

}  // namespace digm
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
