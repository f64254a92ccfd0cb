#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch_internal.hpp"
#include "rae/dispatch.hpp"

// CPU feature detection with the CPUID instruction: <intrin.h> (__cpuidex, _xgetbv) with MSVC,
// <cpuid.h> and an xgetbv instruction with GCC / Clang. Other architectures (aarch64, Apple
// arm64, ...) build the baseline kernels only.
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86)) && !defined(_M_ARM64EC)
#include <intrin.h>
#define RAE_X86_CPUID 1
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define RAE_X86_CPUID 1
#else
#define RAE_X86_CPUID 0
#endif

namespace rae {
namespace {

enum Level { BASELINE = 0, AVX2 = 1, AVX512 = 2 };

#if RAE_X86_CPUID
// regs = eax, ebx, ecx, edx of CPUID(leaf, subleaf)
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, int(leaf), int(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = unsigned(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0: which register states the operating system saves on context switches.
std::uint64_t xcr0() {
#if defined(_MSC_VER)
  return std::uint64_t(_xgetbv(0));
#else
  unsigned lo = 0, hi = 0;
  __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
#endif
}

struct X86Features {
  bool avx2 = false;    // AVX2 + FMA, with OS support for the YMM state
  bool avx512 = false;  // AVX-512 F/DQ/BW/VL (+ AVX2/FMA), with OS support for the ZMM state
};

X86Features detect_x86() {
  X86Features f;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  if (max_leaf < 7) return f;
  cpuid(1, 0, r);
  const bool fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
  if (!(osxsave && avx && fma)) return f;
  const std::uint64_t x = xcr0();
  const bool os_ymm = (x & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (x & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM state
  cpuid(7, 0, r);
  const unsigned b = r[1];
  const bool avx2 = (b >> 5) & 1, f512 = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1,
             vl = (b >> 31) & 1;
  f.avx2 = os_ymm && avx2;
  f.avx512 = f.avx2 && os_zmm && f512 && dq && bw && vl;
  return f;
}
#endif

bool cpu_supports(Level lv) {
#if RAE_X86_CPUID
  static const X86Features f = detect_x86();
  switch (lv) {
    case BASELINE:
      return true;
    case AVX2:
      return f.avx2;
    case AVX512:
      return f.avx512;
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

bool simd_cpu_supports(const std::string& level) {
  for (Level lv : {BASELINE, AVX2, AVX512})
    if (level == level_name(lv)) return cpu_supports(lv);
  return false;
}

std::vector<std::string> simd_levels_available() {
  std::vector<std::string> out;
  for (Level lv : {BASELINE, AVX2, AVX512})
    if (compiled(lv) && cpu_supports(lv)) out.push_back(level_name(lv));
  return out;
}

int simd_lanes_float() { return kernels<float>().lanes; }
int simd_lanes_double() { return kernels<double>().lanes; }

}  // namespace rae
