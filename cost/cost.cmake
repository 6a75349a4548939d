# cost.cmake -- the cost model: operator keys, the measurement driver, the
# analytic and oneDNN backends, the SQLite cost database, and `taso-cost`.
#
# Included from the top-level CMakeLists.txt before the library targets:
# appends cost/*.c to TASO_SOURCES (cost/onednn.c only when oneDNN is
# found), sets TASO_COST_LIBS (SQLite, oneDNN when found, libdl) for the
# library targets to link, defines TASO_HAVE_ONEDNN when oneDNN is found,
# and defines the executable taso-cost (it links taso_internal, created
# later; CMake resolves target names at generate time).
#
# Options: TASO_WITH_ONEDNN (default ON) -- set OFF to build without the
# oneDNN backend even when the library is installed. At the end it includes
# cost/cuda.cmake: the optional CUDA backend (TASO_WITH_CUDA) and taso-bench.

option(TASO_WITH_ONEDNN "Build the oneDNN CPU cost backend when oneDNN is found" ON)

find_package(SQLite3)
if(NOT SQLite3_FOUND)
  message(FATAL_ERROR
    "SQLite3 was not found; the cost database needs it. Install the Debian package "
    "'libsqlite3-dev', or point CMake at it with -DSQLite3_INCLUDE_DIR=... -DSQLite3_LIBRARY=...")
endif()

set(TASO_COST_LIBS SQLite::SQLite3 ${CMAKE_DL_LIBS})
list(APPEND TASO_SOURCES cost/key.c cost/measure.c cost/analytic.c cost/db.c cost/model.c)

set(TASO_HAVE_ONEDNN OFF)
if(TASO_WITH_ONEDNN)
  find_library(TASO_DNNL_LIBRARY NAMES dnnl
    DOC "oneDNN library (Debian package libdnnl-dev)")
  find_path(TASO_DNNL_INCLUDE_DIR NAMES oneapi/dnnl/dnnl.h
    DOC "folder holding oneapi/dnnl/dnnl.h (Debian package libdnnl-dev)")
  if(TASO_DNNL_LIBRARY AND TASO_DNNL_INCLUDE_DIR)
    set(TASO_HAVE_ONEDNN ON)
    add_library(taso_dnnl INTERFACE IMPORTED)
    set_target_properties(taso_dnnl PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${TASO_DNNL_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${TASO_DNNL_LIBRARY}")
    list(APPEND TASO_COST_LIBS taso_dnnl)
    list(APPEND TASO_SOURCES cost/onednn.c)
    add_compile_definitions(TASO_HAVE_ONEDNN=1)
    message(STATUS "taso cost model: oneDNN backend (${TASO_DNNL_LIBRARY})")
  else()
    message(STATUS "taso cost model: oneDNN not found (install libdnnl-dev); only the analytic backend is built")
  endif()
else()
  message(STATUS "taso cost model: oneDNN backend disabled (TASO_WITH_ONEDNN=OFF)")
endif()

add_executable(taso-cost cli/taso_cost.c cli/cli_util.c)
target_compile_options(taso-cost PRIVATE ${TASO_WARNINGS})
target_link_libraries(taso-cost PRIVATE taso_internal)
install(TARGETS taso-cost)

include(cost/cuda.cmake)     # the optional CUDA backend (TASO_HAVE_CUDA) and taso-bench
