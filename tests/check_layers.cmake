cmake_minimum_required(VERSION 3.20)
# The `layers` test: every folder of the library includes only from itself
# and the folders below it (CMakeLists.txt draws the same graph), so the
# architecture the folders show is the one the code has.
#   cmake -DROOT=<source dir> -P tests/check_layers.cmake
set(allowed_io_base io/base)
set(allowed_codecs codecs io/base)
set(allowed_io io io/http io/stream io/devices io/targets codecs io/base)
set(allowed_io_http ${allowed_io})
set(allowed_io_stream ${allowed_io})
set(allowed_io_devices ${allowed_io})
set(allowed_io_targets ${allowed_io})
set(allowed_engine_image engine/image ${allowed_io})
set(allowed_engine_qcow2 engine/qcow2 ${allowed_engine_image})
set(allowed_engine_bmap engine/bmap ${allowed_engine_image})
set(allowed_engine_chain engine/chain engine/bmap ${allowed_engine_qcow2})
set(allowed_engine_partitions engine/partitions io/base)
set(allowed_engine_write engine/write ${allowed_engine_chain})
set(allowed_engine_station engine/station engine/write ${allowed_engine_chain})
set(allowed_engine_api engine/api qflash engine/station engine/write engine/partitions
    ${allowed_engine_chain})

set(failures "")
foreach(folder io/base codecs io io/http io/stream io/devices io/targets engine/image engine/qcow2
               engine/bmap engine/chain engine/partitions engine/write engine/station engine/api)
  string(REPLACE "/" "_" key ${folder})
  file(GLOB files ${ROOT}/${folder}/*.h ${ROOT}/${folder}/*.cpp)
  foreach(file ${files})
    file(STRINGS ${file} includes REGEX "^#include \"")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"(.*)/[^/]*\".*" "\\1" dir "${line}")
      if(dir STREQUAL line)  # "file.h" beside it
        continue()
      endif()
      if(NOT dir IN_LIST allowed_${key})
        string(APPEND failures "  ${folder}: ${line} (${file})\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(failures)
  message(FATAL_ERROR "includes that reach up or across:\n${failures}")
endif()
message(STATUS "layers: every folder includes only from below")
