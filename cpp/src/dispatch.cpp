#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch_internal.hpp"
#include "rae/dispatch.hpp"

namespace rae {
namespace {

enum Level { BASELINE = 0, AVX2 = 1, AVX512 = 2 };

bool cpu_supports(Level lv) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (lv) {
    case BASELINE:
      return true;
    case AVX2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case AVX512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return lv == BASELINE;
#endif
}

bool compiled(Level lv) {
  switch (lv) {
    case BASELINE:
      return true;
    case AVX2:
#if defined(RAE_HAVE_AVX2_KERNELS)
      return true;
#else
      return false;
#endif
    case AVX512:
#if defined(RAE_HAVE_AVX512_KERNELS)
      return true;
#else
      return false;
#endif
  }
  return false;
}

const char* level_name(Level lv) {
  switch (lv) {
    case AVX2:
      return "avx2";
    case AVX512:
      return "avx512";
    default:
      return "baseline";
  }
}

Level choose() {
  Level best = BASELINE;
  for (Level lv : {AVX2, AVX512})
    if (compiled(lv) && cpu_supports(lv)) best = lv;
  if (const char* env = std::getenv("RAE_FAST_SIMD")) {
    Level cap = AVX512;
    if (std::strcmp(env, "baseline") == 0 || std::strcmp(env, "scalar") == 0 ||
        std::strcmp(env, "sse2") == 0)
      cap = BASELINE;
    else if (std::strcmp(env, "avx2") == 0)
      cap = AVX2;
    if (cap < best) best = cap;
  }
  return best;
}

Level active() {
  static const Level lv = choose();
  return lv;
}

}  // namespace

template <>
const kern::KernelTable<float>& kernels<float>() {
  static const kern::KernelTable<float>* t = [] {
    switch (active()) {
#if defined(RAE_HAVE_AVX512_KERNELS)
      case AVX512:
        return kern::kernels_avx512_f();
#endif
#if defined(RAE_HAVE_AVX2_KERNELS)
      case AVX2:
        return kern::kernels_avx2_f();
#endif
      default:
        return kern::kernels_baseline_f();
    }
  }();
  return *t;
}

template <>
const kern::KernelTable<double>& kernels<double>() {
  static const kern::KernelTable<double>* t = [] {
    switch (active()) {
#if defined(RAE_HAVE_AVX512_KERNELS)
      case AVX512:
        return kern::kernels_avx512_d();
#endif
#if defined(RAE_HAVE_AVX2_KERNELS)
      case AVX2:
        return kern::kernels_avx2_d();
#endif
      default:
        return kern::kernels_baseline_d();
    }
  }();
  return *t;
}

const kern::KernelTable<double>& baseline_kernels_d() { return *kern::kernels_baseline_d(); }

std::string simd_level() { return level_name(active()); }

std::vector<std::string> simd_levels_available() {
  std::vector<std::string> out;
  for (Level lv : {BASELINE, AVX2, AVX512})
    if (compiled(lv) && cpu_supports(lv)) out.push_back(level_name(lv));
  return out;
}

int simd_lanes_float() { return kernels<float>().lanes; }
int simd_lanes_double() { return kernels<double>().lanes; }

}  // namespace rae
