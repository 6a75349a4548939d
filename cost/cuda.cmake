# cuda.cmake -- the optional CUDA backend (cost/cuda*.cu), and taso-bench.
#
# Included from cost/cost.cmake, before the library targets exist. Always:
# defines the executable taso-bench (it links taso_internal, created later)
# and lets cli/taso_opt.c include cost/cuda.h (the GPU probe). Then, when
# TASO_WITH_CUDA is ON (default) and a CUDA compiler, the CUDA toolkit's
# cudart, cuBLAS, cuBLASLt and cuDNN are all found:
#   - enables the CUDA language (C++17; CMAKE_CUDA_ARCHITECTURES defaults
#     to 90, the H100/H200: SASS for sm_90 plus compute_90 PTX, which newer
#     GPUs compile at load time; set it for an older GPU, e.g. -D...=80);
#   - builds the .cu files as the object library taso_cuda, with their own
#     flags (nvcc takes none of the C warning flags; the directory's
#     sanitizer flags are passed to the host compiler instead), and adds it
#     to TASO_COST_LIBS, so libtaso.a and libtaso.so contain its objects;
#     taso_internal (tests, tools) gets them by a deferred call, as the
#     generator's libraries are added (gen/gen.cmake): it is created later;
#   - defines TASO_HAVE_CUDA (compile definition and CMake variable).
# This is the only place that links cuDNN and cuBLAS.
#
# Options: TASO_WITH_CUDA (default ON) -- OFF builds without the backend
# even where the toolkit is installed.

option(TASO_WITH_CUDA "Build the CUDA (cuDNN/cuBLAS) backend when the CUDA toolkit is found" ON)

add_executable(taso-bench cli/taso_bench.c cli/cli_util.c)
target_compile_options(taso-bench PRIVATE ${TASO_WARNINGS})
target_link_libraries(taso-bench PRIVATE taso_internal)
install(TARGETS taso-bench)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/cli/taso_opt.c cli/taso_opt.c APPEND PROPERTY INCLUDE_DIRECTORIES
  ${CMAKE_SOURCE_DIR})

set(TASO_HAVE_CUDA OFF)
if(NOT TASO_WITH_CUDA)
  message(STATUS "taso cost model: CUDA backend disabled (TASO_WITH_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "taso cost model: no CUDA compiler (nvcc) found; the CUDA backend is not built")
  return()
endif()
find_package(CUDAToolkit QUIET)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart OR NOT TARGET CUDA::cublas OR NOT TARGET CUDA::cublasLt)
  message(STATUS "taso cost model: the CUDA toolkit (cudart, cuBLAS, cuBLASLt) was not found; the CUDA backend is not built")
  return()
endif()
find_path(TASO_CUDNN_INCLUDE_DIR NAMES cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS}
  DOC "folder holding cudnn.h")
find_library(TASO_CUDNN_LIBRARY NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR}
  DOC "the cuDNN library")
if(NOT TASO_CUDNN_INCLUDE_DIR OR NOT TASO_CUDNN_LIBRARY)
  message(STATUS "taso cost model: cuDNN was not found; the CUDA backend is not built")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
enable_language(CUDA)

add_library(taso_cuda OBJECT cost/cuda.cu cost/cuda_kern.cu cost/cuda_lib.cu cost/cuda_exec.cu)
# The directory's options (sanitizers) are C compiler flags: nvcc refuses them.
set_property(TARGET taso_cuda PROPERTY COMPILE_OPTIONS "")
set_target_properties(taso_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON CUDA_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(taso_cuda PRIVATE ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/include ${TASO_CUDNN_INCLUDE_DIR})
target_compile_options(taso_cuda PRIVATE -Xcompiler=-Wall,-Wextra,-Wshadow,-fvisibility=hidden)
if(TASO_WERROR)
  target_compile_options(taso_cuda PRIVATE -Werror=all-warnings -Xcompiler=-Werror)
endif()
if(TASO_SANITIZE)
  target_compile_options(taso_cuda PRIVATE -Xcompiler=-fsanitize=address,-fsanitize=undefined,-fno-omit-frame-pointer)
endif()
target_link_libraries(taso_cuda PUBLIC CUDA::cudart CUDA::cublas CUDA::cublasLt ${TASO_CUDNN_LIBRARY})

set(TASO_HAVE_CUDA ON)
add_compile_definitions(TASO_HAVE_CUDA=1)
list(APPEND TASO_COST_LIBS taso_cuda)

# Deferred to the end of the top-level CMakeLists.txt: taso_internal exists
# then; and the targets made before the CUDA language was enabled (the
# tools of rules/ and gen/, taso-cost, taso-bench) get the architectures
# that every target linking CUDA objects must have.
function(taso_cuda_attach)
  if(TARGET taso_internal)
    target_sources(taso_internal INTERFACE $<TARGET_OBJECTS:taso_cuda>)
  endif()
  get_property(targets DIRECTORY ${CMAKE_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    get_target_property(arch ${t} CUDA_ARCHITECTURES)
    if(NOT type STREQUAL "INTERFACE_LIBRARY" AND NOT arch)
      set_property(TARGET ${t} PROPERTY CUDA_ARCHITECTURES ${CMAKE_CUDA_ARCHITECTURES})
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL taso_cuda_attach)

message(STATUS "taso cost model: CUDA backend (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, sm ${CMAKE_CUDA_ARCHITECTURES}, "
  "cuDNN ${TASO_CUDNN_LIBRARY})")
