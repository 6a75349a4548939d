# verify.cmake -- the verifier: a static library taso_verify (verify/*.c,
# the only code that links Z3; it stays out of libtaso) and the program
# taso-verify. Included from the top-level CMakeLists.txt after the library
# targets (it links taso_internal).
#
# Z3 comes from pkg-config (Debian libz3-dev ships z3.pc) or, failing that,
# from find_library/find_path. Without Z3 the verifier is skipped with a
# message and everything else still builds.

find_package(Threads REQUIRED)
pkg_check_modules(Z3 IMPORTED_TARGET z3)
if(Z3_FOUND)
  set(TASO_Z3_TARGET PkgConfig::Z3)
else()
  find_library(TASO_Z3_LIB z3)
  find_path(TASO_Z3_INCLUDE z3.h)
  if(TASO_Z3_LIB AND TASO_Z3_INCLUDE)
    add_library(taso_z3 INTERFACE)
    target_link_libraries(taso_z3 INTERFACE ${TASO_Z3_LIB})
    target_include_directories(taso_z3 INTERFACE ${TASO_Z3_INCLUDE})
    set(TASO_Z3_TARGET taso_z3)
  endif()
endif()

if(NOT TASO_Z3_TARGET)
  message(STATUS "Z3 not found (libz3-dev): taso-verify is not built")
  return()
endif()

add_library(taso_verify STATIC
  verify/axioms.c verify/params.c verify/encode.c verify/prove.c verify/modeval.c verify/validate.c
  verify/closed.c)
target_compile_options(taso_verify PRIVATE ${TASO_WARNINGS})
target_include_directories(taso_verify PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/include)
# The library objects come from taso_internal, which every program that
# links taso_verify names itself (an INTERFACE library with sources must
# not be folded into a static archive).
target_link_libraries(taso_verify PUBLIC ${TASO_Z3_TARGET} Threads::Threads)

add_executable(taso-verify cli/taso_verify.c)
target_compile_options(taso-verify PRIVATE ${TASO_WARNINGS})
target_link_libraries(taso-verify PRIVATE taso_verify taso_internal)
install(TARGETS taso-verify)

# The unit test (registered by tests/CMakeLists.txt when this target exists).
add_executable(test_verify tests/test_verify.c)
target_compile_options(test_verify PRIVATE ${TASO_WARNINGS})
target_link_libraries(test_verify PRIVATE taso_verify taso_internal)
set_target_properties(test_verify PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
