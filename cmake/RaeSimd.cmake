# SIMD kernels with runtime dispatch.
#
# The kernel source (kernels_impl.hpp) is compiled once per instruction-set level into its own
# namespace; dispatch.cpp picks the best level the running CPU supports, once, at first use.
#
# - x86-64 (GCC, Clang, MSVC): baseline (SSE2) kernels plus AVX2/FMA and AVX-512 kernels, each
#   compiled with its own per-file flags (-mavx2 -mfma ... or /arch:AVX2, /arch:AVX512); the rest
#   of the library is built for the baseline, so wheels run on any x86-64 CPU.
# - any other target (aarch64 Linux, arm64 macOS, Windows ARM64, a universal2 build, ...): the
#   baseline kernels only (portable vector code; NEON on arm64).
# - RAE_SIMD=OFF builds the baseline kernels only on x86-64 too.
#
# The default build never uses -march=native; RAE_NATIVE is an opt-in for local builds only.
include(CheckCXXCompilerFlag)
include(CheckCXXSourceCompiles)

option(RAE_SIMD "Build the x86-64 AVX2 and AVX-512 kernels (runtime dispatch); OFF: baseline only" ON)
option(RAE_ENABLE_AVX2 "Build the AVX2/FMA kernels (x86-64; needs RAE_SIMD)" ON)
option(RAE_ENABLE_AVX512 "Build the AVX-512 kernels (x86-64; needs RAE_SIMD)" ON)
option(RAE_NATIVE "Tune the whole build for this machine's CPU (local builds only, never for wheels)" OFF)

# Does the compiler target x86-64 (with the flags in use, e.g. CMAKE_OSX_ARCHITECTURES)? Asking
# the compiler is more reliable than CMAKE_SYSTEM_PROCESSOR, which names the host when
# cross-compiling with some generators.
check_cxx_source_compiles("
#if !(defined(__x86_64__) || defined(_M_X64)) || defined(_M_ARM64EC)
#error not x86-64
#endif
int main() { return 0; }" RAE_TARGET_X86_64)

set(RAE_SIMD_LEVELS "baseline")
set(_rae_avx2_flags "")
set(_rae_avx512_flags "")
if(RAE_SIMD AND RAE_TARGET_X86_64)
  if(MSVC)
    check_cxx_compiler_flag("/arch:AVX2" RAE_HAVE_ARCH_AVX2)
    check_cxx_compiler_flag("/arch:AVX512" RAE_HAVE_ARCH_AVX512)
    check_cxx_compiler_flag("/fp:contract" RAE_HAVE_FP_CONTRACT)
    set(_contract "")
    if(RAE_HAVE_FP_CONTRACT)
      set(_contract "/fp:contract")
    endif()
    if(RAE_HAVE_ARCH_AVX2)
      set(_rae_avx2_flags "/arch:AVX2;${_contract}")
    endif()
    if(RAE_HAVE_ARCH_AVX512)
      set(_rae_avx512_flags "/arch:AVX512;${_contract}")
    endif()
  else()
    check_cxx_compiler_flag("-mavx2 -mfma" RAE_HAVE_MAVX2)
    check_cxx_compiler_flag("-mavx512f -mavx512dq -mavx512vl -mavx512bw" RAE_HAVE_MAVX512)
    check_cxx_compiler_flag("-mprefer-vector-width=512" RAE_HAVE_PREFER_512)
    if(RAE_HAVE_MAVX2)
      set(_rae_avx2_flags "-mavx2;-mfma")
    endif()
    if(RAE_HAVE_MAVX512)
      set(_rae_avx512_flags "-mavx512f;-mavx512dq;-mavx512vl;-mavx512bw;-mavx2;-mfma")
      if(RAE_HAVE_PREFER_512)
        list(APPEND _rae_avx512_flags "-mprefer-vector-width=512")
      endif()
    endif()
  endif()
  if(RAE_ENABLE_AVX2 AND _rae_avx2_flags)
    list(APPEND RAE_SIMD_LEVELS "avx2")
  endif()
  if(RAE_ENABLE_AVX512 AND _rae_avx512_flags)
    list(APPEND RAE_SIMD_LEVELS "avx512")
  endif()
endif()
if(RAE_TARGET_X86_64)
  message(STATUS "rae_fast SIMD kernels: ${RAE_SIMD_LEVELS} (x86-64 target)")
else()
  message(STATUS "rae_fast SIMD kernels: ${RAE_SIMD_LEVELS} (not an x86-64 target)")
endif()

function(rae_add_simd_kernels target kernel_dir)
  # Kernels may fuse multiply-adds (results are reproducible per level and thread count).
  set(_contract "")
  if(NOT MSVC)
    set(_contract "-ffp-contract=fast")
  endif()
  target_sources(${target} PRIVATE ${kernel_dir}/kernels_baseline.cpp)
  set_source_files_properties(${kernel_dir}/kernels_baseline.cpp PROPERTIES
    COMPILE_OPTIONS "${_contract}")
  if("avx2" IN_LIST RAE_SIMD_LEVELS)
    target_sources(${target} PRIVATE ${kernel_dir}/kernels_avx2.cpp)
    set_source_files_properties(${kernel_dir}/kernels_avx2.cpp PROPERTIES
      COMPILE_OPTIONS "${_rae_avx2_flags};${_contract}")
    target_compile_definitions(${target} PRIVATE RAE_HAVE_AVX2_KERNELS=1)
  endif()
  if("avx512" IN_LIST RAE_SIMD_LEVELS)
    target_sources(${target} PRIVATE ${kernel_dir}/kernels_avx512.cpp)
    set_source_files_properties(${kernel_dir}/kernels_avx512.cpp PROPERTIES
      COMPILE_OPTIONS "${_rae_avx512_flags};${_contract}")
    target_compile_definitions(${target} PRIVATE RAE_HAVE_AVX512_KERNELS=1)
  endif()
  if(NOT MSVC)
    # opt-in only (-DRAE_NATIVE=ON), never in the default build:
    target_compile_options(${target} PRIVATE $<$<BOOL:${RAE_NATIVE}>:-march=native>)
  elseif(RAE_NATIVE)
    message(WARNING "RAE_NATIVE has no effect with MSVC")
  endif()
endfunction()
