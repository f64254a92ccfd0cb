#include "rae/util.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dispatch_internal.hpp"
#include "rae/parallel.hpp"

namespace rae {

template <class T>
bool all_finite(const T* x, std::size_t n) {
  return kernels<T>().all_finite(x, n);
}

namespace {
constexpr std::size_t kBlock = 1 << 16;
}  // namespace

template <class T>
void power_to_db(const T* in, T* out, std::size_t n, double ref, double amin, double top_db,
                 int n_threads) {
  const double ref_db = 10.0 * std::log10(std::max(amin, ref));
  const T amin_t = T(amin);
  const std::size_t nb = (n + kBlock - 1) / kBlock;
  std::vector<T> block_max(nb, -std::numeric_limits<T>::infinity());
  const auto& K = kernels<T>();
  parallel_for(nb, n_threads, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      const std::size_t i0 = b * kBlock, i1 = std::min(n, i0 + kBlock);
      block_max[b] = K.power_db(in + i0, out + i0, i1 - i0, amin_t, ref_db);
    }
  });
  if (top_db >= 0.0 && n > 0) {
    // the same float arithmetic as numpy: log_spec.max() - top_db in the array's precision
    const T floor = T(*std::max_element(block_max.begin(), block_max.end()) - T(top_db));
    parallel_for(nb, n_threads, [&](std::size_t b0, std::size_t b1) {
      const std::size_t i0 = b0 * kBlock, i1 = std::min(n, b1 * kBlock);
      for (std::size_t i = i0; i < i1; ++i) out[i] = std::max(out[i], floor);
    });
  }
}

template <class T>
void audeep_db(T* x, std::size_t n_specs, std::size_t size, std::size_t stride, double clip_below,
               double clip_above, int n_threads) {
  parallel_for(n_specs, n_threads, [&](std::size_t s0, std::size_t s1) {
    for (std::size_t s = s0; s < s1; ++s) {
      T* v = x + s * stride;
      double eps = std::numeric_limits<double>::infinity(), mx = 0.0;
      for (std::size_t i = 0; i < size; ++i) {
        const double d = double(v[i]);
        if (d > 0.0 && d < eps) eps = d;
        if (d > mx) mx = d;
      }
      if (!(mx > 0.0)) {
        for (std::size_t i = 0; i < size; ++i) v[i] = T(0);
      } else {
        for (std::size_t i = 0; i < size; ++i) {
          double d = double(v[i]);
          if (!(d > eps)) d = eps;
          v[i] = T(10.0 * std::log10(d / mx));
        }
      }
      if (!std::isnan(clip_below))
        for (std::size_t i = 0; i < size; ++i) v[i] = std::max(v[i], T(clip_below));
      if (!std::isnan(clip_above))
        for (std::size_t i = 0; i < size; ++i) v[i] = std::min(v[i], T(clip_above));
    }
  });
}

template <class T>
void audeep_normalize(T* x, std::size_t n_specs, std::size_t size, std::size_t stride,
                      int n_threads) {
  if (size == 0) return;
  parallel_for(n_specs, n_threads, [&](std::size_t s0, std::size_t s1) {
    for (std::size_t s = s0; s < s1; ++s) {
      T* v = x + s * stride;
      double sum = 0.0;
      for (std::size_t i = 0; i < size; ++i) sum += double(v[i]);
      const double mean = sum / double(size);
      double mn = std::numeric_limits<double>::infinity(), mx = -mn;
      for (std::size_t i = 0; i < size; ++i) {
        const double d = double(v[i]) - mean;
        mn = std::min(mn, d);
        mx = std::max(mx, d);
      }
      if (std::fabs(mx - mn) > 1e-4) {
        const double sc = 2.0 / (mx - mn);
        for (std::size_t i = 0; i < size; ++i) v[i] = T((double(v[i]) - mean - mn) * sc - 1.0);
      } else {
        for (std::size_t i = 0; i < size; ++i) v[i] = T(double(v[i]) - mean - mn);
      }
    }
  });
}

#define RAE_INST(T)                                                                          \
  template bool all_finite<T>(const T*, std::size_t);                                      \
  template void power_to_db<T>(const T*, T*, std::size_t, double, double, double, int);    \
  template void audeep_db<T>(T*, std::size_t, std::size_t, std::size_t, double, double, int); \
  template void audeep_normalize<T>(T*, std::size_t, std::size_t, std::size_t, int);
RAE_INST(float)
RAE_INST(double)
#undef RAE_INST

}  // namespace rae
