// FFT plans and batched transforms.
//
// Complex transforms of any size n >= 1: powers of two use an iterative radix-2 Cooley-Tukey
// algorithm (radix-4 passes) with a precomputed bit-reversal permutation and twiddle table;
// sizes whose prime factors are all <= 31 (e.g. auDeep's 3528-sample windows) use a mixed-radix
// Stockham autosort FFT (radix 4, 2, 3, 5, 7 and generic odd primes); all other sizes use
// Bluestein's algorithm on a power-of-two plan of size L >= 2n - 1. Real transforms
// of even size go through a complex transform of half the size; odd sizes through a complex
// transform of the full size. Plans are immutable, cached per size, and shared between threads.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rae/kernel_types.hpp"

namespace rae {

// Largest transform size accepted (2^27 points).
constexpr std::size_t kMaxFftSize = std::size_t(1) << 27;

bool is_pow2(std::size_t n);
std::size_t next_pow2(std::size_t n);
// Radices of the mixed-radix factorisation of n (4s first, then 2, then odd primes <= 31 in
// increasing order), or an empty vector when n has a larger prime factor.
std::vector<std::uint32_t> mixed_radices(std::size_t n);
// The algorithm a complex plan of size n uses: "radix-2", "mixed-radix" or "bluestein".
const char* fft_algorithm(std::size_t n);

template <class T>
class FftPlan {
 public:
  // The cached plan for size n (built on first use). Throws std::invalid_argument for n == 0 or
  // n > kMaxFftSize.
  static std::shared_ptr<const FftPlan> get(std::size_t n);

  explicit FftPlan(std::size_t n);
  FftPlan(const FftPlan&) = delete;
  FftPlan& operator=(const FftPlan&) = delete;

  std::size_t size() const { return n_; }
  bool bluestein() const { return view_.bluestein != 0; }
  bool mixed_radix() const { return view_.mixed != 0; }
  // The radices of a mixed-radix plan (empty otherwise).
  const std::vector<std::uint32_t>& radices() const { return st_radix_; }
  // Complex points of work buffer a transform needs (n, or L for Bluestein).
  std::size_t buffer_len() const { return bluestein() ? std::size_t(view_.L) : n_; }
  const kern::CplxPlanView<T>& view() const { return view_; }

 private:
  std::size_t n_;
  std::vector<std::uint32_t> bitrev_;
  std::vector<T> twr_, twi_, chr_, chi_, fr_, fi_;
  std::vector<std::uint32_t> st_radix_;
  std::vector<std::uint64_t> st_m_, st_s_, st_tw_, st_rc_;
  std::vector<T> mtwr_, mtwi_, rcos_, rsin_;
  std::shared_ptr<const FftPlan> inner_;
  kern::CplxPlanView<T> view_;
};

template <class T>
class RfftPlan {
 public:
  static std::shared_ptr<const RfftPlan> get(std::size_t n);

  explicit RfftPlan(std::size_t n);
  RfftPlan(const RfftPlan&) = delete;
  RfftPlan& operator=(const RfftPlan&) = delete;

  std::size_t size() const { return n_; }
  std::size_t n_bins() const { return n_ / 2 + 1; }
  // Complex points of work buffer a transform needs (incl. the Nyquist slot).
  std::size_t buffer_len() const { return cplx_->buffer_len() + 1; }
  const kern::RealPlanView<T>& view() const { return view_; }

 private:
  std::size_t n_;
  std::shared_ptr<const FftPlan<T>> cplx_;
  std::vector<T> postr_, posti_;
  kern::RealPlanView<T> view_;
};

// Batched transforms of n_rows rows; strides are in elements of the row type. Rows are split
// over n_threads threads (<= 0: all cores); results do not depend on the thread count.
// out = scale * FFT(in) (inverse: unnormalised inverse FFT, times scale).
template <class T>
void fft_rows(const std::complex<T>* in, std::size_t in_stride, std::complex<T>* out,
              std::size_t out_stride, std::size_t n, std::size_t n_rows, bool inverse, T scale,
              int n_threads);
// out = scale * rfft(in): n reals -> n/2 + 1 complex bins.
template <class T>
void rfft_rows(const T* in, std::size_t in_stride, std::complex<T>* out, std::size_t out_stride,
               std::size_t n, std::size_t n_rows, T scale, int n_threads);
// out = scale * (unnormalised inverse of rfft): n/2 + 1 bins -> n reals; scale = 1/n inverts
// rfft. The imaginary parts of the DC (and, for even n, Nyquist) bins are ignored.
template <class T>
void irfft_rows(const std::complex<T>* in, std::size_t in_stride, T* out, std::size_t out_stride,
                std::size_t n, std::size_t n_rows, T scale, int n_threads);

}  // namespace rae
