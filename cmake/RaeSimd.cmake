# SIMD kernels with runtime dispatch.
#
# The kernel source (kernels_impl.hpp) is compiled once per instruction-set level into its own
# namespace; dispatch.cpp picks the best level the running CPU supports, once, at first use.
# The default build never uses -march=native, so wheels run on any x86-64 CPU; RAE_NATIVE is an
# opt-in for local builds only.
option(RAE_NATIVE "Tune the whole build for this machine's CPU (local builds only, never for wheels)" OFF)
option(RAE_ENABLE_AVX2 "Build the AVX2/FMA kernels (x86-64)" ON)
option(RAE_ENABLE_AVX512 "Build the AVX-512 kernels (x86-64)" ON)

set(RAE_X86 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i[3-6]86)$")
  set(RAE_X86 ON)
endif()

function(rae_add_simd_kernels target kernel_dir)
  target_sources(${target} PRIVATE ${kernel_dir}/kernels_baseline.cpp)
  # Kernels may fuse multiply-adds (results are reproducible per level and thread count).
  set(_contract "")
  if(NOT MSVC)
    set(_contract "-ffp-contract=fast")
    set_source_files_properties(${kernel_dir}/kernels_baseline.cpp PROPERTIES
      COMPILE_OPTIONS "${_contract}")
  endif()
  if(RAE_X86 AND NOT MSVC)
    if(RAE_ENABLE_AVX2)
      target_sources(${target} PRIVATE ${kernel_dir}/kernels_avx2.cpp)
      set_source_files_properties(${kernel_dir}/kernels_avx2.cpp PROPERTIES
        COMPILE_OPTIONS "-mavx2;-mfma;${_contract}")
      target_compile_definitions(${target} PRIVATE RAE_HAVE_AVX2_KERNELS=1)
    endif()
    if(RAE_ENABLE_AVX512)
      target_sources(${target} PRIVATE ${kernel_dir}/kernels_avx512.cpp)
      set_source_files_properties(${kernel_dir}/kernels_avx512.cpp PROPERTIES
        COMPILE_OPTIONS "-mavx512f;-mavx512dq;-mavx512vl;-mavx512bw;-mavx2;-mfma;-mprefer-vector-width=512;${_contract}")
      target_compile_definitions(${target} PRIVATE RAE_HAVE_AVX512_KERNELS=1)
    endif()
  endif()
  if(NOT MSVC)
    # opt-in only (-DRAE_NATIVE=ON), never in the default build:
    target_compile_options(${target} PRIVATE $<$<BOOL:${RAE_NATIVE}>:-march=native>)
  endif()
endfunction()
