// FFT plan objects (internal): twiddle tables and permutations of one transform size, in the
// plain-data form the SIMD kernels consume (kernels/kernel_types.hpp). Public entry points are
// the batched transforms in rae/fft.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/kernel_types.hpp"
#include "rae/fft.hpp"

namespace rae {

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

}  // namespace rae
