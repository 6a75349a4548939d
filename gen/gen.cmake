# gen/gen.cmake -- the rule generator: gen/*.c in the library, GMP and
# threads, and the taso-gen program. Included from the top CMakeLists.txt
# before the library targets are defined; it sets TASO_GEN_LIBS, the
# libraries every target holding the generator's objects must link.

find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(GMP QUIET IMPORTED_TARGET gmp)
if(GMP_FOUND)
  set(TASO_GMP_LIB PkgConfig::GMP)
else()
  find_path(TASO_GMP_INCLUDE gmp.h)
  find_library(TASO_GMP_LIBRARY gmp)
  if(NOT TASO_GMP_INCLUDE OR NOT TASO_GMP_LIBRARY)
    message(FATAL_ERROR "GMP not found: install libgmp-dev (Debian/Ubuntu) or gmp-devel")
  endif()
  add_library(taso_gmp INTERFACE)
  target_include_directories(taso_gmp INTERFACE ${TASO_GMP_INCLUDE})
  target_link_libraries(taso_gmp INTERFACE ${TASO_GMP_LIBRARY})
  set(TASO_GMP_LIB taso_gmp)
endif()
set(TASO_GEN_LIBS ${TASO_GMP_LIB} Threads::Threads)

list(APPEND TASO_SOURCES
  gen/config.c gen/modeval.c gen/enumerate.c gen/exact.c
  gen/candidates.c gen/prune.c gen/run.c)

add_executable(taso-gen cli/taso_gen.c)
target_compile_options(taso-gen PRIVATE ${TASO_WARNINGS})
target_link_libraries(taso-gen PRIVATE taso_internal ${TASO_GEN_LIBS})
install(TARGETS taso-gen)

# Once the library targets exist (end of the top directory), link the
# generator's libraries into them. Linking the same libraries again from
# CMakeLists.txt is harmless.
function(taso_gen_link_libs)
  foreach(t taso_obj taso_static taso_shared)
    if(TARGET ${t})
      target_link_libraries(${t} PUBLIC ${TASO_GEN_LIBS})
    endif()
  endforeach()
  if(TARGET taso_internal)
    target_link_libraries(taso_internal INTERFACE ${TASO_GEN_LIBS})
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL taso_gen_link_libs)
