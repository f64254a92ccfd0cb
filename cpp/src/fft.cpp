#include "rae/fft.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

#include "dispatch_internal.hpp"
#include "fft_plan.hpp"
#include "scratch.hpp"
#include "rae/parallel.hpp"

namespace rae {

bool is_pow2(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

std::size_t next_pow2(std::size_t n) {
  if (n > (std::numeric_limits<std::size_t>::max() >> 1) + 1)
    throw std::overflow_error("next_pow2: " + std::to_string(n) + " has no power of two above it");
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::vector<std::uint32_t> mixed_radices(std::size_t n) {
  std::vector<std::uint32_t> r;
  if (n < 2) return r;
  while (n % 4 == 0) {
    r.push_back(4);
    n /= 4;
  }
  while (n % 2 == 0) {
    r.push_back(2);
    n /= 2;
  }
  for (std::uint32_t p = 3; p <= 31 && n > 1; p += 2) {
    while (n % p == 0) {
      r.push_back(p);
      n /= p;
    }
  }
  if (n != 1) r.clear();
  return r;
}

const char* fft_algorithm(std::size_t n) {
  if (is_pow2(n)) return "radix-2";
  if (!mixed_radices(n).empty()) return "mixed-radix";
  return "bluestein";
}

namespace {

// exp(-2 pi i k / n) in extended precision, rounded once.
template <class T>
void unit_root(std::size_t k, std::size_t n, T& re, T& im) {
  const long double pi = 3.141592653589793238462643383279502884L;
  k %= n;
  // use the symmetry k -> n - k to keep the angle in [0, pi]
  bool neg = false;
  if (2 * k > n) {
    k = n - k;
    neg = true;
  }
  long double a = 2.0L * pi * (long double)k / (long double)n;
  long double c = std::cos(a), s = std::sin(a);
  re = T(c);
  im = T(neg ? s : -s);
}

void check_size(std::size_t n, const char* what) {
  if (n == 0) throw std::invalid_argument(std::string(what) + " must be at least 1");
  if (n > kMaxFftSize)
    throw std::invalid_argument(std::string(what) + " = " + std::to_string(n) +
                                " is larger than the supported maximum of 2^27");
}

template <class P>
std::shared_ptr<const P> cached(std::size_t n) {
  static std::mutex mu;
  static std::map<std::size_t, std::shared_ptr<const P>> cache;
  {
    std::lock_guard<std::mutex> lk(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  auto plan = std::make_shared<const P>(n);  // built outside the lock (plans nest)
  std::lock_guard<std::mutex> lk(mu);
  if (cache.size() >= 256) cache.clear();  // holders keep their plans alive
  auto ins = cache.emplace(n, plan);
  return ins.first->second;
}

}  // namespace

template <class T>
std::shared_ptr<const FftPlan<T>> FftPlan<T>::get(std::size_t n) {
  check_size(n, "FFT size");
  return cached<FftPlan<T>>(n);
}

template <class T>
FftPlan<T>::FftPlan(std::size_t n) : n_(n), view_{} {
  check_size(n, "FFT size");
  view_.n = n;
  if (is_pow2(n)) {
    std::size_t log2n = 0;
    while ((std::size_t(1) << log2n) < n) ++log2n;
    bitrev_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t r = 0;
      for (std::size_t b = 0; b < log2n; ++b)
        if (i & (std::size_t(1) << b)) r |= std::size_t(1) << (log2n - 1 - b);
      bitrev_[i] = std::uint32_t(r);
    }
    // tw[h + j] = W_{2h}^j = W_n^{j n / (2h)}
    twr_.assign(n, T(0));
    twi_.assign(n, T(0));
    twr_[0] = T(1);
    for (std::size_t h = 1; h < n; h *= 2)
      for (std::size_t j = 0; j < h; ++j) unit_root<T>(j * (n / (2 * h)), n, twr_[h + j], twi_[h + j]);
    view_.bluestein = 0;
    view_.bitrev = bitrev_.data();
    view_.tw_re = twr_.data();
    view_.tw_im = twi_.data();
    return;
  }
  st_radix_ = mixed_radices(n);
  if (!st_radix_.empty()) {
    // Stockham autosort stages
    std::size_t n_cur = n, stride = 1;
    for (std::uint32_t r : st_radix_) {
      const std::size_t m = n_cur / r;
      st_m_.push_back(m);
      st_s_.push_back(stride);
      st_tw_.push_back(mtwr_.size());
      for (std::size_t p = 0; p < m; ++p)
        for (std::size_t k = 1; k < r; ++k) {
          T wr, wi;
          unit_root<T>((p * k) % n_cur, n_cur, wr, wi);
          mtwr_.push_back(wr);
          mtwi_.push_back(wi);
        }
      st_rc_.push_back(rcos_.size());
      if (r % 2 == 1) {
        const std::size_t H = (r - 1) / 2;
        for (std::size_t j = 1; j <= H; ++j)
          for (std::size_t k = 1; k <= H; ++k) {
            T c, sn;
            unit_root<T>((j * k) % r, r, c, sn);  // exp(-2 pi i jk / r) = cos - i sin
            rcos_.push_back(c);
            rsin_.push_back(-sn);
          }
      }
      n_cur = m;
      stride *= r;
    }
    if (rcos_.empty()) {  // keep the pointers valid
      rcos_.push_back(T(0));
      rsin_.push_back(T(0));
    }
    view_.mixed = 1;
    view_.n_stages = std::uint32_t(st_radix_.size());
    view_.st_radix = st_radix_.data();
    view_.st_m = st_m_.data();
    view_.st_s = st_s_.data();
    view_.st_tw = st_tw_.data();
    view_.st_rc = st_rc_.data();
    view_.mtw_re = mtwr_.data();
    view_.mtw_im = mtwi_.data();
    view_.rcos = rcos_.data();
    view_.rsin = rsin_.data();
    return;
  }
  // Bluestein
  const std::size_t L = next_pow2(2 * n - 1);
  check_size(L, "Bluestein FFT size");
  inner_ = FftPlan<T>::get(L);
  chr_.resize(n);
  chi_.resize(n);
  std::vector<double> b(2 * L, 0.0);  // interleaved complex filter, double precision
  const std::uint64_t two_n = 2 * std::uint64_t(n);
  for (std::size_t k = 0; k < n; ++k) {
    // exp(-i pi k^2 / n) = exp(-2 pi i (k^2 mod 2n) / (2n))
    std::uint64_t r = (std::uint64_t(k) * std::uint64_t(k)) % two_n;
    long double cr, ci;
    unit_root<long double>(std::size_t(r), std::size_t(two_n), cr, ci);
    chr_[k] = T(cr);
    chi_[k] = T(ci);
    // filter: conj(chirp) at m and L - m
    b[2 * k] = double(cr);
    b[2 * k + 1] = -double(ci);
    if (k > 0) {
      b[2 * (L - k)] = double(cr);
      b[2 * (L - k) + 1] = -double(ci);
    }
  }
  // FFT of the filter in double precision (scalar baseline kernel), scaled by 1/L, stored in
  // bit-reversed order because the convolution runs DIF forward -> pointwise -> DIT inverse.
  auto dplan = FftPlan<double>::get(L);
  std::vector<double> B(2 * L);
  const auto& K = baseline_kernels_d();
  std::vector<double> scratch(K.cfft_scratch(dplan->view(), 1));
  K.cfft_rows(dplan->view(), b.data(), L, B.data(), L, 1, 1, 0, 1.0 / double(L), scratch.data());
  fr_.resize(L);
  fi_.resize(L);
  const std::uint32_t* rev = dplan->view().bitrev;
  for (std::size_t i = 0; i < L; ++i) {
    fr_[i] = T(B[2 * rev[i]]);
    fi_[i] = T(B[2 * rev[i] + 1]);
  }
  view_.bluestein = 1;
  view_.L = L;
  view_.chirp_re = chr_.data();
  view_.chirp_im = chi_.data();
  view_.filt_re = fr_.data();
  view_.filt_im = fi_.data();
  view_.inner = &inner_->view();
}

template <class T>
std::shared_ptr<const RfftPlan<T>> RfftPlan<T>::get(std::size_t n) {
  check_size(n, "FFT size");
  return cached<RfftPlan<T>>(n);
}

template <class T>
RfftPlan<T>::RfftPlan(std::size_t n) : n_(n), view_{} {
  check_size(n, "FFT size");
  view_.n = n;
  if (n % 2 == 0) {
    cplx_ = FftPlan<T>::get(n / 2);
    postr_.resize(n / 2 + 1);
    posti_.resize(n / 2 + 1);
    for (std::size_t k = 0; k <= n / 2; ++k) unit_root<T>(k, n, postr_[k], posti_[k]);
    view_.odd = 0;
    view_.post_re = postr_.data();
    view_.post_im = posti_.data();
  } else {
    cplx_ = FftPlan<T>::get(n);
    view_.odd = 1;
  }
  view_.cplx = cplx_->view();
}

template class FftPlan<float>;
template class FftPlan<double>;
template class RfftPlan<float>;
template class RfftPlan<double>;

namespace {

// How a batch of n_rows rows is processed: single rows on the scalar path (one row, or too few
// rows to fill half the SIMD lanes), groups of `lanes` rows otherwise. Chosen from the whole
// batch, so that results never depend on how rows are split over threads.
struct RowSplit {
  bool scalar;
  std::size_t unit, n_units;
};

template <class T>
RowSplit split_rows(std::size_t n_rows) {
  const std::size_t W = std::size_t(kernels<T>().lanes);
  RowSplit s;
  s.scalar = n_rows == 1 || n_rows * 2 < W;
  s.unit = s.scalar ? 1 : W;
  s.n_units = (n_rows + s.unit - 1) / s.unit;
  return s;
}

// Runs fn(row_begin, row_end, scalar, scratch) on each thread's share of the work units, with
// scratch_elems(scalar) elements of scratch per thread.
template <class T, class Scratch, class Fn>
void run_rows(std::size_t n_rows, int n_threads, Scratch scratch_elems, Fn fn) {
  const RowSplit sp = split_rows<T>(n_rows);
  const std::size_t scratch_n = scratch_elems(sp.scalar ? 1 : 0);
  parallel_for_dynamic(sp.n_units, n_threads, 0, [&](std::size_t u0, std::size_t u1) {
    ThreadScratch<T> scratch(scratch_n);
    std::size_t r0 = u0 * sp.unit, r1 = std::min(n_rows, u1 * sp.unit);
    fn(r0, r1, sp.scalar ? 1 : 0, scratch.get());
  });
}

// The sizes of the real plan of size n (what the scratch depends on), without building it.
template <class T>
kern::RealPlanView<T> real_plan_shape(std::size_t n) {
  kern::RealPlanView<T> v{};
  v.n = n;
  v.odd = n % 2 ? 1 : 0;
  const std::size_t m = v.odd ? n : n / 2;
  v.cplx.n = m;
  const std::string algo = fft_algorithm(m);
  if (algo == "mixed-radix") v.cplx.mixed = 1;
  if (algo == "bluestein") {
    v.cplx.bluestein = 1;
    v.cplx.L = next_pow2(2 * m - 1);
  }
  return v;
}

}  // namespace

template <class T>
bool fft_rows(const std::complex<T>* in, std::size_t in_stride, std::complex<T>* out,
              std::size_t out_stride, std::size_t n, std::size_t n_rows, bool inverse, T scale,
              int n_threads) {
  auto plan = FftPlan<T>::get(n);
  const auto& K = kernels<T>();
  std::atomic<bool> finite{true};
  run_rows<T>(
      n_rows, n_threads, [&](int scalar) { return K.cfft_scratch(plan->view(), scalar); },
      [&](std::size_t r0, std::size_t r1, int scalar, T* scratch) {
        if (!K.cfft_rows(plan->view(), reinterpret_cast<const T*>(in + r0 * in_stride),
                         in_stride, reinterpret_cast<T*>(out + r0 * out_stride), out_stride,
                         r1 - r0, scalar, inverse ? 1 : 0, scale, scratch))
          finite.store(false, std::memory_order_relaxed);
      });
  return finite.load();
}

template <class T>
bool rfft_rows(const T* in, std::size_t in_stride, std::complex<T>* out, std::size_t out_stride,
               std::size_t n, std::size_t n_rows, T scale, int n_threads) {
  auto plan = RfftPlan<T>::get(n);
  const auto& K = kernels<T>();
  std::atomic<bool> finite{true};
  run_rows<T>(
      n_rows, n_threads, [&](int scalar) { return K.rfft_scratch(plan->view(), scalar, 0); },
      [&](std::size_t r0, std::size_t r1, int scalar, T* scratch) {
        if (!K.rfft_rows(plan->view(), in + r0 * in_stride, in_stride,
                         reinterpret_cast<T*>(out + r0 * out_stride), out_stride, r1 - r0, scalar,
                         scale, scratch))
          finite.store(false, std::memory_order_relaxed);
      });
  return finite.load();
}

template <class T>
void irfft_rows(const std::complex<T>* in, std::size_t in_stride, T* out, std::size_t out_stride,
                std::size_t n, std::size_t n_rows, T scale, int n_threads) {
  auto plan = RfftPlan<T>::get(n);
  const auto& K = kernels<T>();
  run_rows<T>(
      n_rows, n_threads, [&](int scalar) { return K.rfft_scratch(plan->view(), scalar, 1); },
      [&](std::size_t r0, std::size_t r1, int scalar, T* scratch) {
        K.irfft_rows(plan->view(), reinterpret_cast<const T*>(in + r0 * in_stride), in_stride,
                     out + r0 * out_stride, out_stride, r1 - r0, scalar, scale, scratch);
      });
}

template <class T>
std::size_t rfft_scratch_bytes(std::size_t n, std::size_t n_rows, int n_threads, bool inverse) {
  check_size(n, "FFT size");
  if (n_rows == 0) return 0;
  const RowSplit sp = split_rows<T>(n_rows);
  const std::size_t threads = std::min<std::size_t>(std::size_t(resolve_threads(n_threads)), sp.n_units);
  const std::size_t per_thread =
      kernels<T>().rfft_scratch(real_plan_shape<T>(n), sp.scalar ? 1 : 0, inverse ? 1 : 0);
  return threads * per_thread * sizeof(T);
}

#define RAE_INST(T)                                                                          \
  template bool fft_rows<T>(const std::complex<T>*, std::size_t, std::complex<T>*,         \
                            std::size_t, std::size_t, std::size_t, bool, T, int);          \
  template bool rfft_rows<T>(const T*, std::size_t, std::complex<T>*, std::size_t,         \
                             std::size_t, std::size_t, T, int);                            \
  template void irfft_rows<T>(const std::complex<T>*, std::size_t, T*, std::size_t,        \
                              std::size_t, std::size_t, T, int);                           \
  template std::size_t rfft_scratch_bytes<T>(std::size_t, std::size_t, int, bool);
RAE_INST(float)
RAE_INST(double)
#undef RAE_INST

}  // namespace rae
