// The SIMD kernels, written once and compiled per instruction-set level.
//
// Before including this file a translation unit defines
//   RAE_KNS     the namespace of this instantiation (baseline, avx2, avx512)
//   RAE_VBYTES  the vector width in bytes (16, 32, 64)
// and is compiled with the matching -m flags. Everything here has internal linkage except the
// two kernel tables at the end, so no inline function compiled with wider instructions can leak
// into code that runs on every CPU.
//
// Vectorisation strategy: "one frame per SIMD lane". A group of W frames (W = RAE_VBYTES /
// sizeof(T)) is transposed into structure-of-arrays buffers where element k is a vector holding
// sample (or bin) k of all W frames. Every FFT butterfly is then a plain vector operation with
// broadcast twiddles (no shuffles inside the transform), and outputs that are stored time-last
// (spectrogram bins x frames) are contiguous vector stores. The same templates instantiated with
// V = T give the scalar path used for single long transforms, where the compiler vectorises the
// long inner butterfly loops by itself.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels.hpp"

#ifndef RAE_KNS
#error "define RAE_KNS and RAE_VBYTES before including kernels_impl.hpp"
#endif

// ------------------------------------------------------------------ compiler portability
//
// GCC and Clang (also Apple clang and clang-cl): vectors are the compilers' vector extensions
// (vector_size); lane shuffles are __builtin_shuffle (GCC) or __builtin_shufflevector (Clang);
// scalar maths and copies go through __builtin_* functions. Other compilers (MSVC): vectors are
// a small array type with element-wise operators (left to the auto-vectoriser under
// /arch:AVX2 / /arch:AVX512), shuffles are lane loops, maths the C library's. Defining
// RAE_GENERIC_VECTORS=1 selects that fallback with GCC/Clang too, so that it is tested.
#if !defined(RAE_GENERIC_VECTORS)
#if defined(__GNUC__) || defined(__clang__)
#define RAE_GENERIC_VECTORS 0
#else
#define RAE_GENERIC_VECTORS 1
#endif
#endif

#if RAE_GENERIC_VECTORS
#include <cstring>
#include <math.h>  // the C functions sqrtf / powf (no C++ inline overloads)
#endif

#if defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER)
#define RAE_RESTRICT __restrict
#else
#define RAE_RESTRICT
#endif

#define RAE_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define RAE_UNROLL(n) RAE_PRAGMA(unroll n)
#elif defined(__GNUC__)
#define RAE_UNROLL(n) RAE_PRAGMA(GCC unroll n)
#else
#define RAE_UNROLL(n)
#endif

namespace rae {
namespace kern {
namespace RAE_KNS {
namespace {

using std::size_t;
using std::uint32_t;
using std::uint64_t;

#if RAE_GENERIC_VECTORS
// W lanes of T with the element-wise operators the kernels use (vector op vector, vector op
// scalar, unary minus, compound assignment), like the compilers' vector extensions.
template <class T, size_t W>
struct GVec {
  T v[W];
  T& operator[](size_t i) { return v[i]; }
  const T& operator[](size_t i) const { return v[i]; }
};

#define RAE_GVEC_OP(op)                                                                       \
  template <class T, size_t W>                                                                \
  inline GVec<T, W> operator op(const GVec<T, W>& a, const GVec<T, W>& b) {                   \
    GVec<T, W> r;                                                                             \
    for (size_t i = 0; i < W; ++i) r.v[i] = a.v[i] op b.v[i];                                 \
    return r;                                                                                 \
  }                                                                                           \
  template <class T, size_t W>                                                                \
  inline GVec<T, W> operator op(const GVec<T, W>& a, T b) {                                   \
    GVec<T, W> r;                                                                             \
    for (size_t i = 0; i < W; ++i) r.v[i] = a.v[i] op b;                                      \
    return r;                                                                                 \
  }                                                                                           \
  template <class T, size_t W>                                                                \
  inline GVec<T, W> operator op(T a, const GVec<T, W>& b) {                                   \
    GVec<T, W> r;                                                                             \
    for (size_t i = 0; i < W; ++i) r.v[i] = a op b.v[i];                                      \
    return r;                                                                                 \
  }                                                                                           \
  template <class T, size_t W>                                                                \
  inline GVec<T, W>& operator op##=(GVec<T, W>& a, const GVec<T, W>& b) {                     \
    for (size_t i = 0; i < W; ++i) a.v[i] = a.v[i] op b.v[i];                                 \
    return a;                                                                                 \
  }
RAE_GVEC_OP(+)
RAE_GVEC_OP(-)
RAE_GVEC_OP(*)
#undef RAE_GVEC_OP

template <class T, size_t W>
inline GVec<T, W> operator-(const GVec<T, W>& a) {
  GVec<T, W> r;
  for (size_t i = 0; i < W; ++i) r.v[i] = -a.v[i];
  return r;
}

typedef GVec<float, RAE_VBYTES / sizeof(float)> vfloat;
typedef GVec<double, RAE_VBYTES / sizeof(double)> vdouble;

inline float ksqrt(float x) { return ::sqrtf(x); }
inline double ksqrt(double x) { return ::sqrt(x); }
inline float kpow(float x, float e) { return ::powf(x, e); }
inline double kpow(double x, double e) { return ::pow(x, e); }
inline void kmemcpy(void* d, const void* s, size_t n) { std::memcpy(d, s, n); }
#else
typedef float vfloat __attribute__((vector_size(RAE_VBYTES)));
typedef double vdouble __attribute__((vector_size(RAE_VBYTES)));

// Scalar maths through the compiler builtins (no inline library wrappers in this file).
inline float ksqrt(float x) { return __builtin_sqrtf(x); }
inline double ksqrt(double x) { return __builtin_sqrt(x); }
inline float kpow(float x, float e) { return __builtin_powf(x, e); }
inline double kpow(double x, double e) { return __builtin_pow(x, e); }
inline void kmemcpy(void* d, const void* s, size_t n) { __builtin_memcpy(d, s, n); }
#endif

template <class T> struct VecOf;
template <> struct VecOf<float> { typedef vfloat type; };
template <> struct VecOf<double> { typedef vdouble type; };

template <class V, class T>
constexpr size_t lanes_of() { return sizeof(V) / sizeof(T); }

template <class V, class T>
inline V vload(const T* p) {
  V v;
  kmemcpy(&v, p, sizeof(V));
  return v;
}

template <class V, class T>
inline void vstore(T* p, const V& v) {
  kmemcpy(p, &v, sizeof(V));
}

template <class V, class T>
inline V vbroadcast(T x) {
  V v;
  if constexpr (sizeof(V) == sizeof(T)) {
    v = x;
  } else {
    for (size_t l = 0; l < lanes_of<V, T>(); ++l) v[l] = x;
  }
  return v;
}

template <class V, class T>
inline T lane(const V& v, size_t l) {
  if constexpr (sizeof(V) == sizeof(T)) {
    (void)l;
    return v;
  } else {
    return v[l];
  }
}

template <class V, class T>
inline void set_lane(V& v, size_t l, T x) {
  if constexpr (sizeof(V) == sizeof(T)) {
    (void)l;
    v = x;
  } else {
    v[l] = x;
  }
}

// Store the first nvalid lanes of v at p.
template <class V, class T>
inline void store_partial(T* p, const V& v, size_t nvalid) {
  if (nvalid == lanes_of<V, T>()) {
    vstore<V, T>(p, v);
  } else {
    alignas(64) T tmp[lanes_of<V, T>()];
    vstore<V, T>(tmp, v);
    for (size_t l = 0; l < nvalid; ++l) p[l] = tmp[l];
  }
}

// ------------------------------------------------------------------ in-register transposes

// Lane indices that swap the off-diagonal d x d blocks of two rows a, b of W lanes: index p of
// the result takes lane at(p) of the concatenation (a, b).
//   lo[p] = bit(p, d) ? b[p - d] : a[p]        hi[p] = bit(p, d) ? b[p] : a[p + d]
template <size_t W, size_t d>
struct SwapLo {
  static constexpr int at(size_t p) { return int((p & d) ? W + p - d : p); }
};
template <size_t W, size_t d>
struct SwapHi {
  static constexpr int at(size_t p) { return int((p & d) ? W + p : p + d); }
};

#if !RAE_GENERIC_VECTORS && !defined(__clang__)
// Integer vectors of the same shape as V, for __builtin_shuffle masks (GCC).
template <class T> struct MaskOf;
template <> struct MaskOf<float> {
  typedef std::int32_t elem;
  typedef std::int32_t type __attribute__((vector_size(RAE_VBYTES)));
};
template <> struct MaskOf<double> {
  typedef std::int64_t elem;
  typedef std::int64_t type __attribute__((vector_size(RAE_VBYTES)));
};
#endif

// r[p] = lane Idx::at(p) of (a, b), for p < W.
template <class V, class T, class Idx, size_t... P>
inline V shuffle2(const V& a, const V& b, std::index_sequence<P...>) {
#if RAE_GENERIC_VECTORS
  constexpr size_t W = sizeof...(P);
  V r;
  ((r[P] = size_t(Idx::at(P)) < W ? a[size_t(Idx::at(P))] : b[size_t(Idx::at(P)) - W]), ...);
  return r;
#elif defined(__clang__)
  return __builtin_shufflevector(a, b, Idx::at(P)...);
#else
  typedef typename MaskOf<T>::type M;
  constexpr M mask = {typename MaskOf<T>::elem(Idx::at(P))...};
  return __builtin_shuffle(a, b, mask);
#endif
}

template <class V, class T, size_t d>
inline void transpose_stage(V* r) {
  constexpr size_t W = lanes_of<V, T>();
  RAE_UNROLL(16)
  for (size_t i = 0; i < W; ++i) {
    if (i & d) continue;
    V a = r[i], b = r[i + d];
    r[i] = shuffle2<V, T, SwapLo<W, d>>(a, b, std::make_index_sequence<W>());
    r[i + d] = shuffle2<V, T, SwapHi<W, d>>(a, b, std::make_index_sequence<W>());
  }
}

// In-place transpose of the W x W matrix whose rows are r[0..W).
template <class V, class T>
inline void transpose(V* r) {
  constexpr size_t W = lanes_of<V, T>();
  if constexpr (W >= 2) transpose_stage<V, T, 1>(r);
  if constexpr (W >= 4) transpose_stage<V, T, 2>(r);
  if constexpr (W >= 8) transpose_stage<V, T, 4>(r);
  if constexpr (W >= 16) transpose_stage<V, T, 8>(r);
}

// ------------------------------------------------------------------ radix-2/4 complex FFT passes
//
// re/im: n vectors each. Twiddle table: tw[h + j] = exp(-2 pi i j / (2h)) for h = 1, 2, 4, ...,
// n/2 and j < h. Forward transforms only; the inverse is obtained by swapping the re and im
// arrays (IFFT(x) = swap(FFT(swap(x))), unnormalised).

// Passes are applied to whole sub-arrays; the first passes of a transform (small h) are run
// block by block on blocks that fit in the L1 cache, the later ones over the whole array.
template <class V, class T>
constexpr size_t l1_block() {
  // complex-split vectors whose re and im parts fit in ~32 KiB
  return size_t(32768) / (2 * sizeof(V)) < 4 ? 4 : size_t(32768) / (2 * sizeof(V));
}

template <class V, class T>
inline void r2_pass(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n) {
  for (size_t s = 0; s < n; s += 2) {
    V ar = re[s], ai = im[s], br = re[s + 1], bi = im[s + 1];
    re[s] = ar + br; im[s] = ai + bi;
    re[s + 1] = ar - br; im[s + 1] = ai - bi;
  }
}

// DIT radix-4 pass for stages h = 1 and 2 (twiddles 1 and -i only).
template <class V, class T>
inline void r4_first_dit(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n) {
  for (size_t s = 0; s < n; s += 4) {
    V x0r = re[s], x0i = im[s], x1r = re[s + 1], x1i = im[s + 1];
    V x2r = re[s + 2], x2i = im[s + 2], x3r = re[s + 3], x3i = im[s + 3];
    V a0r = x0r + x1r, a0i = x0i + x1i, a1r = x0r - x1r, a1i = x0i - x1i;
    V a2r = x2r + x3r, a2i = x2i + x3i, a3r = x2r - x3r, a3i = x2i - x3i;
    re[s] = a0r + a2r; im[s] = a0i + a2i;
    re[s + 2] = a0r - a2r; im[s + 2] = a0i - a2i;
    // a1 +- (-i) a3
    re[s + 1] = a1r + a3i; im[s + 1] = a1i - a3r;
    re[s + 3] = a1r - a3i; im[s + 3] = a1i + a3r;
  }
}

// DIT radix-4 pass combining stages h and 2h over n points (n a multiple of 4h).
template <class V, class T>
inline void r4_dit(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n, size_t h, const T* RAE_RESTRICT twr,
                   const T* RAE_RESTRICT twi) {
  const T* w1r = twr + h;
  const T* w1i = twi + h;
  const T* w2r = twr + 2 * h;
  const T* w2i = twi + 2 * h;
  for (size_t s = 0; s < n; s += 4 * h) {
    V* RAE_RESTRICT r0 = re + s;
    V* RAE_RESTRICT i0 = im + s;
    for (size_t j = 0; j < h; ++j) {
      const T c1 = w1r[j], s1 = w1i[j], c2 = w2r[j], s2 = w2i[j];
      V x0r = r0[j], x0i = i0[j];
      V x1r = r0[j + h], x1i = i0[j + h];
      V x2r = r0[j + 2 * h], x2i = i0[j + 2 * h];
      V x3r = r0[j + 3 * h], x3i = i0[j + 3 * h];
      V t1r = x1r * c1 - x1i * s1, t1i = x1r * s1 + x1i * c1;
      V t3r = x3r * c1 - x3i * s1, t3i = x3r * s1 + x3i * c1;
      V a0r = x0r + t1r, a0i = x0i + t1i, a1r = x0r - t1r, a1i = x0i - t1i;
      V a2r = x2r + t3r, a2i = x2i + t3i, a3r = x2r - t3r, a3i = x2i - t3i;
      V u2r = a2r * c2 - a2i * s2, u2i = a2r * s2 + a2i * c2;
      // u3 = -i * w2 * a3
      V v3r = a3r * c2 - a3i * s2, v3i = a3r * s2 + a3i * c2;
      V u3r = v3i, u3i = -v3r;
      r0[j] = a0r + u2r; i0[j] = a0i + u2i;
      r0[j + 2 * h] = a0r - u2r; i0[j + 2 * h] = a0i - u2i;
      r0[j + h] = a1r + u3r; i0[j + h] = a1i + u3i;
      r0[j + 3 * h] = a1r - u3r; i0[j + 3 * h] = a1i - u3i;
    }
  }
}

// DIF radix-4 pass combining stages 2h and h over n points (the mirror of r4_dit).
template <class V, class T>
inline void r4_dif(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n, size_t h, const T* RAE_RESTRICT twr,
                   const T* RAE_RESTRICT twi) {
  const T* w1r = twr + h;
  const T* w1i = twi + h;
  const T* w2r = twr + 2 * h;
  const T* w2i = twi + 2 * h;
  for (size_t s = 0; s < n; s += 4 * h) {
    V* RAE_RESTRICT r0 = re + s;
    V* RAE_RESTRICT i0 = im + s;
    for (size_t j = 0; j < h; ++j) {
      const T c1 = w1r[j], s1 = w1i[j], c2 = w2r[j], s2 = w2i[j];
      V x0r = r0[j], x0i = i0[j];
      V x1r = r0[j + h], x1i = i0[j + h];
      V x2r = r0[j + 2 * h], x2i = i0[j + 2 * h];
      V x3r = r0[j + 3 * h], x3i = i0[j + 3 * h];
      V a0r = x0r + x2r, a0i = x0i + x2i;
      V d2r = x0r - x2r, d2i = x0i - x2i;
      V a1r = x1r + x3r, a1i = x1i + x3i;
      V d3r = x1r - x3r, d3i = x1i - x3i;
      V a2r = d2r * c2 - d2i * s2, a2i = d2r * s2 + d2i * c2;
      V v3r = d3r * c2 - d3i * s2, v3i = d3r * s2 + d3i * c2;
      V a3r = v3i, a3i = -v3r;  // * (-i)
      V e1r = a0r - a1r, e1i = a0i - a1i;
      V e3r = a2r - a3r, e3i = a2i - a3i;
      r0[j] = a0r + a1r; i0[j] = a0i + a1i;
      r0[j + h] = e1r * c1 - e1i * s1; i0[j + h] = e1r * s1 + e1i * c1;
      r0[j + 2 * h] = a2r + a3r; i0[j + 2 * h] = a2i + a3i;
      r0[j + 3 * h] = e3r * c1 - e3i * s1; i0[j + 3 * h] = e3r * s1 + e3i * c1;
    }
  }
}

// DIF radix-4 pass for stages 2 and 1 (the mirror of r4_first_dit).
template <class V, class T>
inline void r4_last_dif(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n) {
  for (size_t s = 0; s < n; s += 4) {
    V x0r = re[s], x0i = im[s], x1r = re[s + 1], x1i = im[s + 1];
    V x2r = re[s + 2], x2i = im[s + 2], x3r = re[s + 3], x3i = im[s + 3];
    V a0r = x0r + x2r, a0i = x0i + x2i, a2r = x0r - x2r, a2i = x0i - x2i;
    V a1r = x1r + x3r, a1i = x1i + x3i;
    V d3r = x1r - x3r, d3i = x1i - x3i;
    V a3r = d3i, a3i = -d3r;
    re[s] = a0r + a1r; im[s] = a0i + a1i;
    re[s + 1] = a0r - a1r; im[s + 1] = a0i - a1i;
    re[s + 2] = a2r + a3r; im[s + 2] = a2i + a3i;
    re[s + 3] = a2r - a3r; im[s + 3] = a2i - a3i;
  }
}

inline size_t log2_of(size_t n) {
  size_t l = 0;
  while ((size_t(1) << l) < n) ++l;
  return l;
}

// Decimation in time: input in bit-reversed order, output in natural order.
// Stage sequence: radix-2 (h = 1) when log2 n is odd, else the twiddle-free radix-4 (h = 1, 2);
// then radix-4 passes h = h0, 4 h0, ... while 4h <= n.
template <class V, class T>
void dit_pow2(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n, const T* RAE_RESTRICT twr,
              const T* RAE_RESTRICT twi) {
  if (n < 2) return;
  const bool odd = log2_of(n) & 1;
  const size_t h0 = odd ? 2 : 4;
  const size_t B = n < l1_block<V, T>() ? n : l1_block<V, T>();
  size_t h_after = h0;  // first h not handled inside the blocks
  while (4 * h_after <= B) h_after *= 4;
  for (size_t b = 0; b < n; b += B) {
    V* r = re + b;
    V* i = im + b;
    if (odd) r2_pass<V, T>(r, i, B); else if (B >= 4) r4_first_dit<V, T>(r, i, B);
    for (size_t h = h0; h < h_after; h *= 4) r4_dit<V, T>(r, i, B, h, twr, twi);
  }
  for (size_t h = h_after; h < n; h *= 4) r4_dit<V, T>(re, im, n, h, twr, twi);
}

// Decimation in frequency: input in natural order, output in bit-reversed order (the exact
// mirror of dit_pow2).
template <class V, class T>
void dif_pow2(V* RAE_RESTRICT re, V* RAE_RESTRICT im, size_t n, const T* RAE_RESTRICT twr,
              const T* RAE_RESTRICT twi) {
  if (n < 2) return;
  const bool odd = log2_of(n) & 1;
  const size_t h0 = odd ? 2 : 4;
  const size_t B = n < l1_block<V, T>() ? n : l1_block<V, T>();
  size_t h_after = h0;
  while (4 * h_after <= B) h_after *= 4;
  size_t h_top = h_after;
  while (4 * h_top <= n) h_top *= 4;  // one past the largest pass
  for (size_t h = h_top / 4; h >= h_after && h >= h0; h /= 4) r4_dif<V, T>(re, im, n, h, twr, twi);
  for (size_t b = 0; b < n; b += B) {
    V* r = re + b;
    V* i = im + b;
    if (h_after > h0)
      for (size_t h = h_after / 4;; h /= 4) {
        r4_dif<V, T>(r, i, B, h, twr, twi);
        if (h == h0) break;
      }
    if (odd) r2_pass<V, T>(r, i, B); else if (B >= 4) r4_last_dif<V, T>(r, i, B);
  }
}

// ------------------------------------------------------------------ mixed radix (Stockham)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // radix known only at run time for R = 0
#endif
// One radix-R stage of the Stockham decimation-in-frequency autosort FFT:
//   y[q + s (R p + k)] = W^{p k} * sum_j x[q + s (p + j m)] e^{-2 pi i j k / R}
// for p < m, q < s, k < R. R = 0 means an odd prime radix known at run time (<= 31).
template <class V, class T, int R>
void stockham_stage(const V* RAE_RESTRICT xr, const V* RAE_RESTRICT xi, V* RAE_RESTRICT yr,
                    V* RAE_RESTRICT yi, size_t r_rt, size_t m, size_t s, const T* RAE_RESTRICT twr,
                    const T* RAE_RESTRICT twi, const T* RAE_RESTRICT rc, const T* RAE_RESTRICT rs) {
  constexpr size_t kMax = R ? (R < 2 ? 2 : R) : 31;
  const size_t r = R ? size_t(R) : r_rt;
  const size_t H = (r - 1) / 2;
  for (size_t p = 0; p < m; ++p) {
    const T* wr = twr + p * (r - 1);
    const T* wi = twi + p * (r - 1);
    for (size_t q = 0; q < s; ++q) {
      V ar[kMax], ai[kMax], br[kMax], bi[kMax];
      const V* pr = xr + q + s * p;
      const V* pi = xi + q + s * p;
      const size_t sm = s * m;
      for (size_t j = 0; j < r; ++j) {
        ar[j] = pr[j * sm];
        ai[j] = pi[j * sm];
      }
      if constexpr (R == 2) {
        br[0] = ar[0] + ar[1]; bi[0] = ai[0] + ai[1];
        br[1] = ar[0] - ar[1]; bi[1] = ai[0] - ai[1];
      } else if constexpr (R == 4) {
        V t0r = ar[0] + ar[2], t0i = ai[0] + ai[2], t1r = ar[0] - ar[2], t1i = ai[0] - ai[2];
        V t2r = ar[1] + ar[3], t2i = ai[1] + ai[3], t3r = ar[1] - ar[3], t3i = ai[1] - ai[3];
        br[0] = t0r + t2r; bi[0] = t0i + t2i;
        br[2] = t0r - t2r; bi[2] = t0i - t2i;
        // t1 -+ i t3
        br[1] = t1r + t3i; bi[1] = t1i - t3r;
        br[3] = t1r - t3i; bi[3] = t1i + t3r;
      } else {
        // odd prime: pairs j, r - j
        V sr[kMax / 2 + 1], si[kMax / 2 + 1], dr[kMax / 2 + 1], di[kMax / 2 + 1];
        V b0r = ar[0], b0i = ai[0];
        for (size_t j = 1; j <= H; ++j) {
          sr[j] = ar[j] + ar[r - j]; si[j] = ai[j] + ai[r - j];
          dr[j] = ar[j] - ar[r - j]; di[j] = ai[j] - ai[r - j];
          b0r += sr[j]; b0i += si[j];
        }
        br[0] = b0r; bi[0] = b0i;
        for (size_t k = 1; k <= H; ++k) {
          V Ar = ar[0], Ai = ai[0], Br = vbroadcast<V, T>(T(0)), Bi = Br;
          for (size_t j = 1; j <= H; ++j) {
            const T c = rc[(j - 1) * H + (k - 1)], sn = rs[(j - 1) * H + (k - 1)];
            Ar += sr[j] * c; Ai += si[j] * c;
            Br += dr[j] * sn; Bi += di[j] * sn;
          }
          // b_k = A - i B, b_{r-k} = A + i B
          br[k] = Ar + Bi; bi[k] = Ai - Br;
          br[r - k] = Ar - Bi; bi[r - k] = Ai + Br;
        }
      }
      V* qr = yr + q + s * r * p;
      V* qi = yi + q + s * r * p;
      qr[0] = br[0];
      qi[0] = bi[0];
      for (size_t k = 1; k < r; ++k) {
        const T c = wr[k - 1], sn = wi[k - 1];
        qr[k * s] = br[k] * c - bi[k] * sn;
        qi[k * s] = br[k] * sn + bi[k] * c;
      }
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Mixed-radix FFT of re/im (natural order in and out); wre/wim: work buffers of n vectors.
template <class V, class T>
void stockham(const CplxPlanView<T>& p, V* re, V* im, V* wre, V* wim) {
  V *xr = re, *xi = im, *yr = wre, *yi = wim;
  for (size_t i = 0; i < p.n_stages; ++i) {
    const size_t r = p.st_radix[i], m = p.st_m[i], s = p.st_s[i];
    const T* twr = p.mtw_re + p.st_tw[i];
    const T* twi = p.mtw_im + p.st_tw[i];
    const T* rc = p.rcos + p.st_rc[i];
    const T* rs = p.rsin + p.st_rc[i];
    switch (r) {
      case 2: stockham_stage<V, T, 2>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
      case 3: stockham_stage<V, T, 3>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
      case 4: stockham_stage<V, T, 4>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
      case 5: stockham_stage<V, T, 5>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
      case 7: stockham_stage<V, T, 7>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
      default: stockham_stage<V, T, 0>(xr, xi, yr, yi, r, m, s, twr, twi, rc, rs); break;
    }
    V* t = xr; xr = yr; yr = t;
    t = xi; xi = yi; yi = t;
  }
  if (xr != re) {
    for (size_t k = 0; k < p.n; ++k) {
      re[k] = xr[k];
      im[k] = xi[k];
    }
  }
}

// Where input element k must be placed before cfft_exec.
template <class T>
inline size_t place_index(const CplxPlanView<T>& p, size_t k) {
  return (p.bluestein || p.mixed) ? k : p.bitrev[k];
}

// Capacity (in vectors) that re/im need for cfft_exec with plan p.
template <class T>
inline size_t buffer_len(const CplxPlanView<T>& p) {
  return p.bluestein ? p.L : p.n;
}

// Forward complex FFT of the data placed with place_index; output in natural order in
// re/im[0, n). Inverse transform: pass (im, re). wre/wim: work buffers (mixed radix).
template <class V, class T>
void cfft_exec(const CplxPlanView<T>& p, V* re, V* im, V* wre, V* wim) {
  if (p.mixed) {
    stockham<V, T>(p, re, im, wre, wim);
    return;
  }
  if (!p.bluestein) {
    dit_pow2<V, T>(re, im, p.n, p.tw_re, p.tw_im);
    return;
  }
  const size_t n = p.n, L = p.L;
  const T* cr = p.chirp_re;
  const T* ci = p.chirp_im;
  for (size_t k = 0; k < n; ++k) {
    V xr = re[k], xi = im[k];
    re[k] = xr * cr[k] - xi * ci[k];
    im[k] = xr * ci[k] + xi * cr[k];
  }
  const V zero = vbroadcast<V, T>(T(0));
  for (size_t k = n; k < L; ++k) {
    re[k] = zero;
    im[k] = zero;
  }
  dif_pow2<V, T>(re, im, L, p.inner->tw_re, p.inner->tw_im);
  const T* fr = p.filt_re;
  const T* fi = p.filt_im;
  for (size_t k = 0; k < L; ++k) {
    V xr = re[k], xi = im[k];
    re[k] = xr * fr[k] - xi * fi[k];
    im[k] = xr * fi[k] + xi * fr[k];
  }
  dit_pow2<V, T>(im, re, L, p.inner->tw_re, p.inner->tw_im);  // inverse by swapping
  for (size_t k = 0; k < n; ++k) {
    V xr = re[k], xi = im[k];
    re[k] = xr * cr[k] - xi * ci[k];
    im[k] = xr * ci[k] + xi * cr[k];
  }
}

// ------------------------------------------------------------------ real FFT pre/post passes

// Z = FFT_M(z) with z[m] = x[2m] + i x[2m+1] in re/im[0, M) -> X[0..M] in re/im[0, M] (natural).
template <class V, class T>
void real_post(V* re, V* im, size_t M, const T* wr, const T* wi) {
  const T half = T(0.5);
  V z0r = re[0], z0i = im[0];
  const V zero = vbroadcast<V, T>(T(0));
  re[0] = z0r + z0i; im[0] = zero;
  re[M] = z0r - z0i; im[M] = zero;
  for (size_t k = 1, q = M - 1; k <= q; ++k, --q) {
    // a = Z[k], b = conj(Z[q]), q = M - k
    V ar = re[k], ai = im[k], br = re[q], bi = -im[q];
    V er = (ar + br) * half, ei = (ai + bi) * half;
    V dr = ar - br, di = ai - bi;
    V or_ = di * half, oi = -dr * half;  // O = -i/2 (a - b)
    // X[k] = E + W^k O
    V tr = or_ * wr[k] - oi * wi[k], ti = or_ * wi[k] + oi * wr[k];
    V xkr = er + tr, xki = ei + ti;
    // X[q] = conj(E - W^k O)   (from the symmetric relations)
    V xqr = er - tr, xqi = -(ei - ti);
    re[k] = xkr; im[k] = xki;
    re[q] = xqr; im[q] = xqi;
  }
}

// X[0..M] (Hermitian half spectrum, given by the function get(k, xr, xi)) -> Z placed for an
// inverse complex FFT of size M in (zr, zi). The imaginary parts of X[0] and X[M] are ignored.
template <class V, class T, class Get>
void real_pre(const CplxPlanView<T>& p, size_t M, const T* wr, const T* wi, Get get, V* zr,
              V* zi) {
  const T half = T(0.5);
  V x0r, x0i, xmr, xmi;
  get(0, x0r, x0i);
  get(M, xmr, xmi);
  {
    size_t d = place_index(p, 0);
    zr[d] = (x0r + xmr) * half;
    zi[d] = (x0r - xmr) * half;
  }
  for (size_t k = 1, q = M - 1; k <= q; ++k, --q) {
    V ar, ai, qr, qi;
    get(k, ar, ai);
    get(q, qr, qi);
    V br = qr, bi = -qi;  // conj(X[q])
    V er = (ar + br) * half, ei = (ai + bi) * half;
    V dr = (ar - br) * half, di = (ai - bi) * half;
    // O = D * conj(W^k)
    V or_ = dr * wr[k] + di * wi[k], oi = di * wr[k] - dr * wi[k];
    // Z[k] = E + i O
    size_t dk = place_index(p, k);
    zr[dk] = er - oi;
    zi[dk] = ei + or_;
    if (q != k) {
      // Z[q] = conj(E) + i conj(O) * (W^q relation): E[q] = conj(E[k]), O[q] = conj(O[k])
      size_t dq = place_index(p, q);
      zr[dq] = er + oi;
      zi[dq] = -ei + or_;
    }
  }
}

// ------------------------------------------------------------------ loading frames into lanes

// For t in [0, len): sink(t, v) where lane l of v is src[l][t].
template <class V, class T, class Sink>
inline void load_lanes(const T* const* src, size_t len, Sink&& sink) {
  constexpr size_t W = lanes_of<V, T>();
  if constexpr (W == 1) {
    const T* s = src[0];
    for (size_t t = 0; t < len; ++t) sink(t, V(s[t]));
  } else {
    V r[W];
    size_t t0 = 0;
    for (; t0 + W <= len; t0 += W) {
RAE_UNROLL(16)
      for (size_t l = 0; l < W; ++l) r[l] = vload<V, T>(src[l] + t0);
      transpose<V, T>(r);
RAE_UNROLL(16)
      for (size_t u = 0; u < W; ++u) sink(t0 + u, r[u]);
    }
    for (; t0 < len; ++t0) {
      V v;
      for (size_t l = 0; l < W; ++l) v[l] = src[l][t0];
      sink(t0, v);
    }
  }
}

// Per-lane frame means (for detrending), accumulated in double.
template <class V, class T>
inline V lane_means(const T* const* src, size_t len) {
  constexpr size_t W = lanes_of<V, T>();
  V m = vbroadcast<V, T>(T(0));
  for (size_t l = 0; l < W; ++l) {
    double acc = 0.0;
    const T* s = src[l];
    for (size_t t = 0; t < len; ++t) acc += double(s[t]);
    set_lane<V, T>(m, l, T(acc / double(len)));
  }
  return m;
}

// Load W real frames (len samples each, windowed, optionally detrended, zero-padded to the real
// FFT size) into the placed complex buffers of a real plan.
template <class V, class T, bool kDetrend, bool kWindow, bool kBluestein>
void load_real_frames_even(const RealPlanView<T>& p, const T* const* src, size_t len,
                           const T* window, V mean, V* re, V* im) {
  constexpr size_t W = lanes_of<V, T>();
  const size_t M = p.n / 2;
  const std::uint32_t* rev = p.cplx.bitrev;
  auto dest = [&](size_t c) -> size_t { return kBluestein ? c : size_t(rev[c]); };
  auto prep = [&](V v, size_t t) -> V {
    if constexpr (kDetrend) v = v - mean;
    if constexpr (kWindow) v = v * window[t];
    return v;
  };
  size_t t0 = 0;
  if constexpr (W > 1) {
    V r[W];
    for (; t0 + W <= len; t0 += W) {
RAE_UNROLL(16)
      for (size_t l = 0; l < W; ++l) r[l] = vload<V, T>(src[l] + t0);
      transpose<V, T>(r);
RAE_UNROLL(8)
      for (size_t u = 0; u < W; u += 2) {
        const size_t d = dest((t0 + u) >> 1);
        re[d] = prep(r[u], t0 + u);
        im[d] = prep(r[u + 1], t0 + u + 1);
      }
    }
  }
  const V zero = vbroadcast<V, T>(T(0));
  for (; t0 < len; ++t0) {
    V v;
    for (size_t l = 0; l < W; ++l) set_lane<V, T>(v, l, src[l][t0]);
    const size_t d = dest(t0 >> 1);
    if (t0 & 1) im[d] = prep(v, t0); else re[d] = prep(v, t0);
  }
  size_t t = len;
  if (t & 1) {
    im[dest(t >> 1)] = zero;
    ++t;
  }
  for (size_t m = t >> 1; m < M; ++m) {
    const size_t d = dest(m);
    re[d] = zero;
    im[d] = zero;
  }
}

template <class V, class T>
void load_real_frames(const RealPlanView<T>& p, const T* const* src, size_t len, const T* window,
                      int detrend, V* re, V* im) {
  const V mean = detrend ? lane_means<V, T>(src, len) : vbroadcast<V, T>(T(0));
  const CplxPlanView<T>& c = p.cplx;
  const V zero = vbroadcast<V, T>(T(0));
  if (!p.odd) {
    const bool bl = (c.bluestein || c.mixed), w = window != nullptr;
#define RAE_LOAD(D, WI, B) load_real_frames_even<V, T, D, WI, B>(p, src, len, window, mean, re, im)
    if (detrend) {
      if (w) { if (bl) RAE_LOAD(true, true, true); else RAE_LOAD(true, true, false); }
      else   { if (bl) RAE_LOAD(true, false, true); else RAE_LOAD(true, false, false); }
    } else {
      if (w) { if (bl) RAE_LOAD(false, true, true); else RAE_LOAD(false, true, false); }
      else   { if (bl) RAE_LOAD(false, false, true); else RAE_LOAD(false, false, false); }
    }
#undef RAE_LOAD
  } else {
    auto sink = [&](size_t t, V v) {
      if (detrend) v = v - mean;
      if (window) v = v * window[t];
      size_t d = place_index(c, t);
      re[d] = v;
      im[d] = zero;
    };
    load_lanes<V, T>(src, len, sink);
    for (size_t t = len; t < p.n; ++t) {
      size_t d = place_index(c, t);
      re[d] = zero;
      im[d] = zero;
    }
  }
}

// Real forward transform of the loaded buffers: X[0..n/2] in re/im (natural order).
template <class V, class T>
inline void real_forward(const RealPlanView<T>& p, V* re, V* im, V* wre, V* wim) {
  cfft_exec<V, T>(p.cplx, re, im, wre, wim);
  if (!p.odd) real_post<V, T>(re, im, p.n / 2, p.post_re, p.post_im);
}

// Inverse real transform: X[0..n/2] provided by get(k, xr, xi) -> x[0, n) via sink(t, v),
// unnormalised (sum over the full Hermitian spectrum) times scale. zr/zi: work buffers.
template <class V, class T, class Get, class Sink>
void real_inverse(const RealPlanView<T>& p, Get get, T scale, V* zr, V* zi, V* wre, V* wim,
                  Sink&& sink) {
  const CplxPlanView<T>& c = p.cplx;
  if (!p.odd) {
    const size_t M = p.n / 2;
    real_pre<V, T>(c, M, p.post_re, p.post_im, get, zr, zi);
    cfft_exec<V, T>(c, zi, zr, wim, wre);  // inverse
    const T s2 = T(2) * scale;
    for (size_t m = 0; m < M; ++m) {
      sink(2 * m, zr[m] * s2);
      sink(2 * m + 1, zi[m] * s2);
    }
  } else {
    const size_t n = p.n, h = n / 2;  // bins 0..h
    for (size_t k = 0; k <= h; ++k) {
      V xr, xi;
      get(k, xr, xi);
      if (k == 0) xi = vbroadcast<V, T>(T(0));
      size_t d = place_index(c, k);
      zr[d] = xr;
      zi[d] = xi;
      if (k > 0) {
        size_t d2 = place_index(c, n - k);
        zr[d2] = xr;
        zi[d2] = -xi;
      }
    }
    cfft_exec<V, T>(c, zi, zr, wim, wre);
    for (size_t t = 0; t < n; ++t) sink(t, zr[t] * scale);
  }
}

// ------------------------------------------------------------------ scratch layout
//
// A call's scratch holds, each of buf_len + 2 vectors: the complex-split pair re/im (always;
// adjacent, so that an inverse real transform can write its n real outputs across both), the
// pair re2/im2 (inverse real transforms and FFT autocorrelations only), the work pair wre/wim
// (mixed-radix plans only), then frame_vecs vectors for the frame buffer (autocorrelations only).
// Buffers a call does not use take no space, and the scalar path (V = T) needs one lane, not W:
// a single row of 2^27 points needs two float buffers of 2^26 points, not 6 x 16 of them.

template <class V, class T>
size_t scratch_elems_impl(size_t buf_len, int z, int work, size_t frame_vecs) {
  constexpr size_t W = lanes_of<V, T>();
  const size_t vecs = size_t(2 + (z ? 2 : 0) + (work ? 2 : 0)) * (buf_len + 2) + frame_vecs + 8;
  return vecs * W + 64;  // + alignment slack
}

template <class V, class T>
struct Scratch {
  V* re;
  V* im;
  V* re2;   // nullptr unless z
  V* im2;
  V* wre;   // work buffers for mixed-radix transforms (nullptr unless work)
  V* wim;
  V* frame;
};

template <class V, class T>
Scratch<V, T> carve(T* scratch, size_t buf_len, int z, int work) {
  // align to 64 bytes
  std::uintptr_t a = reinterpret_cast<std::uintptr_t>(scratch);
  a = (a + 63) & ~std::uintptr_t(63);
  V* next = reinterpret_cast<V*>(a);
  const size_t b = buf_len + 2;
  auto take = [&]() {
    V* p = next;
    next += b;
    return p;
  };
  Scratch<V, T> s{};
  s.re = take();
  s.im = take();
  if (z) {
    s.re2 = take();
    s.im2 = take();
  }
  if (work) {
    s.wre = take();
    s.wim = take();
  }
  s.frame = next;
  return s;
}

// Gather complex elements [0, n) of W rows (row l at rows[l], interleaved re/im) into lane
// vectors: sink(k, re, im) with lane l holding element k of row l.
template <class V, class T, class Sink>
inline void gather_complex_rows(const T* const* rows, size_t n, Sink&& sink) {
  constexpr size_t W = lanes_of<V, T>();
  size_t k0 = 0;
  if constexpr (W > 1) {
    // the inverse of scatter_complex_rows: transposing the rows' two vectors of interleaved
    // complex values gives re_u, im_u in alternation
    V a[W], b[W];
    for (; k0 + W <= n; k0 += W) {
RAE_UNROLL(16)
      for (size_t l = 0; l < W; ++l) {
        const T* p = rows[l] + 2 * k0;
        a[l] = vload<V, T>(p);
        b[l] = vload<V, T>(p + W);
      }
      transpose<V, T>(a);
      transpose<V, T>(b);
RAE_UNROLL(16)
      for (size_t u = 0; u < W / 2; ++u) {
        sink(k0 + u, a[2 * u], a[2 * u + 1]);
        sink(k0 + W / 2 + u, b[2 * u], b[2 * u + 1]);
      }
    }
  }
  for (; k0 < n; ++k0) {
    V vr, vi;
    for (size_t l = 0; l < W; ++l) {
      set_lane<V, T>(vr, l, rows[l][2 * k0]);
      set_lane<V, T>(vi, l, rows[l][2 * k0 + 1]);
    }
    sink(k0, vr, vi);
  }
}

// Scatter lane vectors re[k], im[k] (k < n) back to nv rows as interleaved complex values.
template <class V, class T>
inline void scatter_complex_rows(const V* re, const V* im, size_t n, T scale, T* const* rows,
                                 size_t nv) {
  constexpr size_t W = lanes_of<V, T>();
  if constexpr (W == 1) {
    T* row = rows[0];
    for (size_t k = 0; k < n; ++k) {
      row[2 * k] = re[k] * scale;
      row[2 * k + 1] = im[k] * scale;
    }
  } else {
    // Rows of the W x 2W block [re(k0) im(k0) re(k0+1) im(k0+1) ...] (one row per lane) are the
    // interleaved complex outputs: two W x W transposes of the vectors taken in the order
    // re_u, im_u produce them directly, without a separate zip.
    V a[W], b[W];
    size_t k0 = 0;
    for (; k0 + W <= n; k0 += W) {
RAE_UNROLL(16)
      for (size_t u = 0; u < W / 2; ++u) {
        a[2 * u] = re[k0 + u] * scale;
        a[2 * u + 1] = im[k0 + u] * scale;
        b[2 * u] = re[k0 + W / 2 + u] * scale;
        b[2 * u + 1] = im[k0 + W / 2 + u] * scale;
      }
      transpose<V, T>(a);
      transpose<V, T>(b);
RAE_UNROLL(16)
      for (size_t l = 0; l < nv; ++l) {
        T* row = rows[l] + 2 * k0;
        vstore<V, T>(row, a[l]);
        vstore<V, T>(row + W, b[l]);
      }
    }
    for (; k0 < n; ++k0) {  // tail (e.g. the Nyquist bin)
      const V vr = re[k0] * scale, vi = im[k0] * scale;
      for (size_t l = 0; l < nv; ++l) {
        rows[l][2 * k0] = lane<V, T>(vr, l);
        rows[l][2 * k0 + 1] = lane<V, T>(vi, l);
      }
    }
  }
}

// Scatter lane vectors x[t] (t < n) back to nv real rows.
template <class V, class T>
inline void scatter_real_rows(const V* x, size_t n, T* const* rows, size_t nv) {
  constexpr size_t W = lanes_of<V, T>();
  if constexpr (W == 1) {
    T* row = rows[0];
    for (size_t t = 0; t < n; ++t) row[t] = x[t];
  } else {
    V b[W];
    const V zero = vbroadcast<V, T>(T(0));
    for (size_t t0 = 0; t0 < n; t0 += W) {
      const size_t tn = (n - t0 < W) ? n - t0 : W;
      for (size_t u = 0; u < W; ++u) b[u] = u < tn ? x[t0 + u] : zero;
      transpose<V, T>(b);
      for (size_t l = 0; l < nv; ++l) store_partial<V, T>(rows[l] + t0, b[l], tn);
    }
  }
}

// False when one of the first nv lanes of v is NaN or infinite.
template <class V, class T>
inline bool lanes_finite(const V& v, size_t nv) {
  bool ok = true;
  for (size_t l = 0; l < nv; ++l) {
    const T x = lane<V, T>(v, l);
    ok = ok && (x - x == T(0));
  }
  return ok;
}

template <class V, class T>
bool cfft_rows_impl(const CplxPlanView<T>& p, const T* in, size_t in_stride, T* out,
                    size_t out_stride, size_t n_rows, int inverse, T scale, T* scratch) {
  constexpr size_t W = lanes_of<V, T>();
  const size_t n = p.n;
  Scratch<V, T> s = carve<V, T>(scratch, buffer_len(p) + 1, 0, p.mixed);
  const T* src[W];
  T* dst[W];
  bool finite = true;
  for (size_t r0 = 0; r0 < n_rows; r0 += W) {
    const size_t nv = (n_rows - r0 < W) ? n_rows - r0 : W;
    for (size_t l = 0; l < W; ++l) {
      src[l] = in + 2 * in_stride * (r0 + (l < nv ? l : 0));
      dst[l] = out + 2 * out_stride * (r0 + (l < nv ? l : 0));
    }
    gather_complex_rows<V, T>(src, n, [&](size_t k, const V& vr, const V& vi) {
      size_t d = place_index(p, k);
      s.re[d] = vr;
      s.im[d] = vi;
    });
    if (inverse) cfft_exec<V, T>(p, s.im, s.re, s.wim, s.wre);
    else cfft_exec<V, T>(p, s.re, s.im, s.wre, s.wim);
    finite = finite && lanes_finite<V, T>(s.re[0], nv) && lanes_finite<V, T>(s.im[0], nv);
    scatter_complex_rows<V, T>(s.re, s.im, n, scale, dst, nv);
  }
  return finite;
}

template <class V, class T>
bool rfft_rows_impl(const RealPlanView<T>& p, const T* in, size_t in_stride, T* out,
                    size_t out_stride, size_t n_rows, T scale, T* scratch) {
  constexpr size_t W = lanes_of<V, T>();
  const size_t nb = p.n / 2 + 1;
  Scratch<V, T> s = carve<V, T>(scratch, buffer_len(p.cplx) + 1, 0, p.cplx.mixed);
  const T* src[W];
  T* dst[W];
  bool finite = true;
  for (size_t r0 = 0; r0 < n_rows; r0 += W) {
    const size_t nv = (n_rows - r0 < W) ? n_rows - r0 : W;
    for (size_t l = 0; l < W; ++l) {
      src[l] = in + in_stride * (r0 + (l < nv ? l : 0));
      dst[l] = out + 2 * out_stride * (r0 + (l < nv ? l : 0));
    }
    load_real_frames<V, T>(p, src, p.n, nullptr, 0, s.re, s.im);
    real_forward<V, T>(p, s.re, s.im, s.wre, s.wim);
    finite = finite && lanes_finite<V, T>(s.re[0], nv);
    scatter_complex_rows<V, T>(s.re, s.im, nb, scale, dst, nv);
  }
  return finite;
}

template <class V, class T>
void irfft_rows_impl(const RealPlanView<T>& p, const T* in, size_t in_stride, T* out,
                     size_t out_stride, size_t n_rows, T scale, T* scratch) {
  constexpr size_t W = lanes_of<V, T>();
  const size_t nb = p.n / 2 + 1;
  Scratch<V, T> s = carve<V, T>(scratch, buffer_len(p.cplx) + 1, 1, p.cplx.mixed);
  // the inverse writes x[0, n) into the (then free) region starting at s.re, which spans the
  // contiguous re and im buffers (2 (buf_len + 3) >= n + 1 vectors)
  V* x = s.re;
  const T* src[W];
  T* dst[W];
  for (size_t r0 = 0; r0 < n_rows; r0 += W) {
    const size_t nv = (n_rows - r0 < W) ? n_rows - r0 : W;
    for (size_t l = 0; l < W; ++l) {
      src[l] = in + 2 * in_stride * (r0 + (l < nv ? l : 0));
      dst[l] = out + out_stride * (r0 + (l < nv ? l : 0));
    }
    gather_complex_rows<V, T>(src, nb, [&](size_t k, const V& vr, const V& vi) {
      s.re[k] = vr;
      s.im[k] = vi;
    });
    auto get = [&](size_t k, V& xr, V& xi) { xr = s.re[k]; xi = s.im[k]; };
    real_inverse<V, T>(p, get, scale, s.re2, s.im2, s.wre, s.wim, [&](size_t t, V v) { x[t] = v; });
    scatter_real_rows<V, T>(x, p.n, dst, nv);
  }
}

// ------------------------------------------------------------------ framewise transforms

template <class V, class T>
void frames_impl(const FrameJob<T>& job, size_t f_begin, size_t f_end, T* scratch) {
  constexpr size_t W = lanes_of<V, T>();
  const RealPlanView<T>& p = job.plan;
  const size_t nb = p.n / 2 + 1;
  const size_t len = job.frame_len;
  Scratch<V, T> s = carve<V, T>(scratch, buffer_len(p.cplx) + 1, job.mode == FM_AUTOCORR,
                                p.cplx.mixed);
  const T* src[W];
  const V zero = vbroadcast<V, T>(T(0));
  for (size_t f0 = f_begin; f0 < f_end; f0 += W) {
    const size_t nv = (f_end - f0 < W) ? f_end - f0 : W;
    for (size_t l = 0; l < W; ++l)
      src[l] = job.signal + job.hop * (f0 + (l < nv ? l : 0) - job.sig_frame0);

    if (job.mode == FM_AUTOCORR_DIRECT) {
      V* x = s.frame;
      const V mean = job.detrend ? lane_means<V, T>(src, len) : zero;
      const T* win = job.window;
      const int detrend = job.detrend;
      load_lanes<V, T>(src, len, [&](size_t t, V v) {
        if (detrend) v = v - mean;
        if (win) v = v * win[t];
        x[t] = v;
      });
      V r0 = zero;
      for (size_t t = 0; t < len; ++t) r0 += x[t] * x[t];
      V inv0 = zero;
      if (job.acf_norm == ACF_LAG0) {
        for (size_t l = 0; l < W; ++l) {
          T v = lane<V, T>(r0, l);
          set_lane<V, T>(inv0, l, v > T(0) ? T(1) / v : T(0));
        }
      }
      for (size_t lag = 0; lag <= job.max_lag; ++lag) {
        V acc = zero;
        if (lag == 0) {
          acc = r0;
        } else {
          const size_t m = len - lag;
          for (size_t t = 0; t < m; ++t) acc += x[t] * x[t + lag];
        }
        if (job.acf_norm == ACF_LAG0) acc = acc * inv0;
        else if (job.acf_norm == ACF_UNBIASED) acc = acc * (T(1) / T(len - lag));
        store_partial<V, T>(job.out + lag * job.out_ld + f0, acc, nv);
      }
      continue;
    }

    load_real_frames<V, T>(p, src, len, job.window, job.detrend, s.re, s.im);
    real_forward<V, T>(p, s.re, s.im, s.wre, s.wim);

    if (job.mode == FM_COMPLEX) {
      for (size_t k = 0; k < nb; ++k) {
        T* o = job.out + 2 * (k * job.out_ld + f0);
        for (size_t l = 0; l < nv; ++l) {
          o[2 * l] = lane<V, T>(s.re[k], l);
          o[2 * l + 1] = lane<V, T>(s.im[k], l);
        }
      }
      continue;
    }

    // |X|^2 into re
    for (size_t k = 0; k < nb; ++k) s.re[k] = s.re[k] * s.re[k] + s.im[k] * s.im[k];

    if (job.mode == FM_AUTOCORR) {
      V* P = s.re;
      auto get = [&](size_t k, V& xr, V& xi) { xr = P[k]; xi = zero; };
      // r[t] for t <= max_lag; collect into the frame buffer first (normalisation needs r[0])
      V* r = s.frame;
      const size_t need = job.max_lag + 1;
      real_inverse<V, T>(p, get, T(1) / T(p.n), s.re2, s.im2, s.wre, s.wim, [&](size_t t, V v) {
        if (t < need) r[t] = v;
      });
      V inv0 = zero;
      if (job.acf_norm == ACF_LAG0) {
        for (size_t l = 0; l < W; ++l) {
          T v = lane<V, T>(r[0], l);
          set_lane<V, T>(inv0, l, v > T(0) ? T(1) / v : T(0));
        }
      }
      for (size_t lag = 0; lag < need; ++lag) {
        V v = r[lag];
        if (job.acf_norm == ACF_LAG0) v = v * inv0;
        else if (job.acf_norm == ACF_UNBIASED) v = v * (T(1) / T(len - lag));
        store_partial<V, T>(job.out + lag * job.out_ld + f0, v, nv);
      }
      continue;
    }

    // |X|^power_exp
    const T pe = job.power_exp;
    if (pe == T(1)) {
      for (size_t k = 0; k < nb; ++k) {
        V v = s.re[k];
        for (size_t l = 0; l < W; ++l) set_lane<V, T>(v, l, ksqrt(lane<V, T>(v, l)));
        s.re[k] = v;
      }
    } else if (pe != T(2)) {
      const T e = pe / T(2);
      for (size_t k = 0; k < nb; ++k) {
        V v = s.re[k];
        for (size_t l = 0; l < W; ++l) set_lane<V, T>(v, l, kpow(lane<V, T>(v, l), e));
        s.re[k] = v;
      }
    }

    if (job.mode == FM_MAGNITUDE) {
      const T sc = job.scale;
      for (size_t k = 0; k < nb; ++k)
        store_partial<V, T>(job.out + k * job.out_ld + f0, s.re[k] * sc, nv);
      continue;
    }

    // FM_MEL: band-sparse filterbank
    const T sc = job.scale;
    for (size_t b = 0; b < job.n_bands; ++b) {
      const V* P = s.re + job.band_lo[b];
      const T* w = job.band_w + job.band_off[b];
      const size_t m = job.band_len[b];
      V acc = zero;
      for (size_t i = 0; i < m; ++i) acc += P[i] * w[i];
      store_partial<V, T>(job.out + b * job.out_ld + f0, acc * sc, nv);
    }
  }
}

// ------------------------------------------------------------------ checks

template <class V, class T>
bool all_finite_impl(const T* x, size_t n) {
  constexpr size_t W = lanes_of<V, T>();
  V a0 = vbroadcast<V, T>(T(0)), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 += vload<V, T>(x + i) * T(0);
    a1 += vload<V, T>(x + i + W) * T(0);
    a2 += vload<V, T>(x + i + 2 * W) * T(0);
    a3 += vload<V, T>(x + i + 3 * W) * T(0);
  }
  T acc = 0;
  for (; i < n; ++i) acc += x[i] * T(0);
  V a = a0 + a1 + a2 + a3;
  for (size_t l = 0; l < W; ++l) acc += lane<V, T>(a, l);
  return acc == acc;
}

// ------------------------------------------------------------------ decibels

// 10 log10(x) for finite x > 0 (subnormals included): Cephes' logf polynomial on the mantissa
// in [sqrt(1/2), sqrt(2)) and its split log10 constants, written branch-free so that the loop
// over an array vectorises (about 1 ulp before the factor 10).
inline float db10(float x) {
  // (both sides of each choice are computed: the compiler may not speculate floating-point
  // operations, and a loop with branches does not vectorise)
  const float xs = x * 8388608.0f;       // 2^23
  const bool sub = x < 1.17549435e-38f;  // FLT_MIN
  x = sub ? xs : x;
  uint32_t u;
  kmemcpy(&u, &x, sizeof u);
  int32_t e = int32_t((u >> 23) & 0xffu) - 127 - (sub ? 23 : 0);
  const uint32_t mu = (u & 0x007fffffu) | 0x3f800000u;
  float m;
  kmemcpy(&m, &mu, sizeof m);            // [1, 2)
  const float mh = m * 0.5f;
  const bool big = m > 1.41421356f;
  m = big ? mh : m;
  e += big ? 1 : 0;
  const float f = m - 1.0f, z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  const float y = f * z * p - 0.5f * z;  // ln(1 + f) = f + y
  const float fe = float(e);
  // log10(x) = (f + y) log10(e) + e log10(2), constants split into exact high parts and
  // small corrections (L10EA + L10EB = log10(e), L102A + L102B = log10(2))
  float r = y * 7.00731903251827651129e-4f;
  r += f * 7.00731903251827651129e-4f;
  r += fe * 2.48745663981195213739e-4f;
  r += y * 4.3359375e-1f;
  r += f * 4.3359375e-1f;
  r += fe * 3.0078125e-1f;
  return 10.0f * r;
}

inline double db10(double x) {
#if RAE_GENERIC_VECTORS
  return 10.0 * ::log10(x);
#else
  return 10.0 * __builtin_log10(x);
#endif
}

template <class T>
inline T power_db_one(T x, T amin, double ref_db) {
  return T(double(db10(x > amin ? x : amin)) - ref_db);
}

// Signed integers that order finite floats like the floats themselves (max reductions
// vectorise on integers; on floats they would need -ffinite-math-only).
inline int32_t order_key(float v) {
  int32_t b;
  kmemcpy(&b, &v, sizeof b);
  return b ^ ((b >> 31) & 0x7fffffff);
}
inline int64_t order_key(double v) {
  int64_t b;
  kmemcpy(&b, &v, sizeof b);
  return b ^ ((b >> 63) & 0x7fffffffffffffffLL);
}
template <class T, class K>
inline T from_order_key(K k) {
  const K b = k ^ ((k >> (8 * sizeof(K) - 1)) & (~K(0) ^ (K(1) << (8 * sizeof(K) - 1))));
  T v;
  kmemcpy(&v, &b, sizeof v);
  return v;
}

template <class T>
T power_db(const T* in, T* out, size_t n, T amin, double ref_db) {
  typedef decltype(order_key(T(0))) K;
  if (n == 0) return -T(1) / T(0);
  K mx = order_key(T(-1) / T(0));
  if (in == out) {  // in place (one pointer, so that the loop vectorises without alias checks)
    for (size_t i = 0; i < n; ++i) {
      const T v = power_db_one(out[i], amin, ref_db);
      out[i] = v;
      const K k = order_key(v);
      mx = k > mx ? k : mx;
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const T v = power_db_one(in[i], amin, ref_db);
      out[i] = v;
      const K k = order_key(v);
      mx = k > mx ? k : mx;
    }
  }
  return from_order_key<T, K>(mx);
}

// ------------------------------------------------------------------ dispatch by path

// Scratch elements (of T) of one call, matching the carve() of each kernel below.
template <class T>
std::size_t scratch_elems(size_t buf_len, int scalar, int z, int work, size_t frame_vecs) {
  return scalar ? scratch_elems_impl<T, T>(buf_len, z, work, frame_vecs)
                : scratch_elems_impl<typename VecOf<T>::type, T>(buf_len, z, work, frame_vecs);
}

template <class T>
std::size_t cfft_scratch(const CplxPlanView<T>& p, int scalar) {
  return scratch_elems<T>(buffer_len(p) + 1, scalar, 0, p.mixed, 0);
}

template <class T>
std::size_t rfft_scratch(const RealPlanView<T>& p, int scalar, int inverse) {
  return scratch_elems<T>(buffer_len(p.cplx) + 1, scalar, inverse, p.cplx.mixed, 0);
}

template <class T>
std::size_t frames_scratch(const FrameJob<T>& job) {
  const bool acf = job.mode == FM_AUTOCORR || job.mode == FM_AUTOCORR_DIRECT;
  return scratch_elems<T>(buffer_len(job.plan.cplx) + 1, 0, job.mode == FM_AUTOCORR,
                          job.plan.cplx.mixed, acf ? size_t(job.frame_len) : 0);
}

template <class T>
bool cfft_rows(const CplxPlanView<T>& p, const T* in, size_t in_stride, T* out, size_t out_stride,
               size_t n_rows, int scalar, int inverse, T scale, T* scratch) {
  typedef typename VecOf<T>::type V;
  if (scalar)
    return cfft_rows_impl<T, T>(p, in, in_stride, out, out_stride, n_rows, inverse, scale, scratch);
  return cfft_rows_impl<V, T>(p, in, in_stride, out, out_stride, n_rows, inverse, scale, scratch);
}

template <class T>
bool rfft_rows(const RealPlanView<T>& p, const T* in, size_t in_stride, T* out, size_t out_stride,
               size_t n_rows, int scalar, T scale, T* scratch) {
  typedef typename VecOf<T>::type V;
  if (scalar) return rfft_rows_impl<T, T>(p, in, in_stride, out, out_stride, n_rows, scale, scratch);
  return rfft_rows_impl<V, T>(p, in, in_stride, out, out_stride, n_rows, scale, scratch);
}

template <class T>
void irfft_rows(const RealPlanView<T>& p, const T* in, size_t in_stride, T* out,
                size_t out_stride, size_t n_rows, int scalar, T scale, T* scratch) {
  typedef typename VecOf<T>::type V;
  if (scalar)
    irfft_rows_impl<T, T>(p, in, in_stride, out, out_stride, n_rows, scale, scratch);
  else
    irfft_rows_impl<V, T>(p, in, in_stride, out, out_stride, n_rows, scale, scratch);
}

template <class T>
void frames(const FrameJob<T>& job, size_t f_begin, size_t f_end, T* scratch) {
  frames_impl<typename VecOf<T>::type, T>(job, f_begin, f_end, scratch);
}

template <class T>
bool all_finite(const T* x, size_t n) {
  return all_finite_impl<typename VecOf<T>::type, T>(x, n);
}

#define RAE_STR2(x) #x
#define RAE_STR(x) RAE_STR2(x)

const KernelTable<float> table_f = {
    RAE_STR(RAE_KNS), int(lanes_of<vfloat, float>()), &cfft_scratch<float>,
    &rfft_scratch<float>, &frames_scratch<float>, &cfft_rows<float>, &rfft_rows<float>,
    &irfft_rows<float>, &frames<float>, &all_finite<float>, &power_db<float>};
const KernelTable<double> table_d = {
    RAE_STR(RAE_KNS), int(lanes_of<vdouble, double>()), &cfft_scratch<double>,
    &rfft_scratch<double>, &frames_scratch<double>, &cfft_rows<double>, &rfft_rows<double>,
    &irfft_rows<double>, &frames<double>, &all_finite<double>, &power_db<double>};

}  // namespace
}  // namespace RAE_KNS
}  // namespace kern
}  // namespace rae
