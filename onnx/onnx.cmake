# onnx.cmake -- the ONNX import/export module.
#
# The C code for the ONNX protobuf schema is generated at build time with
# protoc-c from the schema that Debian's libonnx-dev installs; the schema is
# not copied into this repository. Included from the top-level
# CMakeLists.txt: appends the generated source and onnx/*.c to
# TASO_SOURCES and defines the target taso_onnx_gen that produces them.

find_program(TASO_PROTOC_C NAMES protoc-c
  DOC "protoc-c, the protobuf-c compiler (Debian package protobuf-c-compiler)")
if(NOT TASO_PROTOC_C)
  message(FATAL_ERROR
    "protoc-c was not found. Install the Debian package 'protobuf-c-compiler' "
    "(and 'libprotobuf-c-dev'), or set TASO_PROTOC_C to the compiler's path.")
endif()

find_file(TASO_ONNX_PROTO NAMES onnx/onnx.proto
  PATHS /usr/include /usr/local/include
  DOC "the ONNX schema onnx.proto (Debian package libonnx-dev)")
if(NOT TASO_ONNX_PROTO)
  message(FATAL_ERROR
    "The ONNX schema onnx/onnx.proto was not found. Install the Debian package "
    "'libonnx-dev', or set TASO_ONNX_PROTO to the path of onnx.proto.")
endif()

# protoc-c names its outputs after the path relative to --proto_path, so the
# schema's parent of 'onnx/' is the proto path and the generated files land
# in gen/onnx/, included as "onnx/onnx.pb-c.h".
get_filename_component(_taso_onnx_dir "${TASO_ONNX_PROTO}" DIRECTORY)
get_filename_component(_taso_proto_root "${_taso_onnx_dir}" DIRECTORY)
get_filename_component(_taso_onnx_dirname "${_taso_onnx_dir}" NAME)
get_filename_component(_taso_onnx_name "${TASO_ONNX_PROTO}" NAME)
if(NOT _taso_onnx_dirname STREQUAL "onnx" OR NOT _taso_onnx_name STREQUAL "onnx.proto")
  message(FATAL_ERROR
    "TASO_ONNX_PROTO must name a file .../onnx/onnx.proto (as libonnx-dev installs it), "
    "not '${TASO_ONNX_PROTO}'.")
endif()
set(TASO_ONNX_GEN_DIR "${CMAKE_BINARY_DIR}/gen/onnx")
set(TASO_ONNX_GEN_C "${TASO_ONNX_GEN_DIR}/onnx.pb-c.c")
set(TASO_ONNX_GEN_H "${TASO_ONNX_GEN_DIR}/onnx.pb-c.h")

add_custom_command(
  OUTPUT "${TASO_ONNX_GEN_C}" "${TASO_ONNX_GEN_H}"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${TASO_ONNX_GEN_DIR}"
  COMMAND "${TASO_PROTOC_C}" "--proto_path=${_taso_proto_root}"
          "--c_out=${CMAKE_BINARY_DIR}/gen" "${TASO_ONNX_PROTO}"
  DEPENDS "${TASO_ONNX_PROTO}"
  COMMENT "Generating the protobuf-c code of onnx.proto"
  VERBATIM)
add_custom_target(taso_onnx_gen DEPENDS "${TASO_ONNX_GEN_C}" "${TASO_ONNX_GEN_H}")

# Generated code: not held to our warning set.
set_source_files_properties("${TASO_ONNX_GEN_C}" PROPERTIES
  GENERATED TRUE
  COMPILE_OPTIONS "-w")
set_source_files_properties("${TASO_ONNX_GEN_H}" PROPERTIES GENERATED TRUE)

list(APPEND TASO_SOURCES
  "${TASO_ONNX_GEN_C}"
  onnx/common.c onnx/import.c onnx/export.c)
