// The kernel table: one per instruction-set level and floating-point type (see kernels_impl.hpp).
#pragma once

#include <cstddef>

#include "kernel_types.hpp"

namespace rae {
namespace kern {

template <class T>
struct KernelTable {
  const char* name;
  int lanes;  // SIMD lanes of T processed together (frames / rows per group)

  // Elements of T of scratch space that one call of cfft_rows / rfft_rows (inverse = 0) or
  // irfft_rows (inverse = 1) on the given path, or of frames, needs: only the buffers that call
  // uses, for one lane on the scalar path and `lanes` lanes otherwise.
  std::size_t (*cfft_scratch)(const CplxPlanView<T>& p, int scalar);
  std::size_t (*rfft_scratch)(const RealPlanView<T>& p, int scalar, int inverse);
  std::size_t (*frames_scratch)(const FrameJob<T>& job);

  // The *_rows kernels transform rows [0, n_rows). With scalar != 0 each row is transformed on
  // its own (best for a few long rows: the long butterfly loops vectorise by themselves);
  // otherwise rows are processed `lanes` at a time, one row per SIMD lane. The caller picks the
  // path from the whole batch so that results never depend on how rows are split over threads.
  //
  // out[r] = scale * FFT(in[r]) (complex interleaved; strides in complex elements);
  // inverse != 0: unnormalised inverse transform.
  //
  // cfft_rows and rfft_rows return false when the (unscaled) zero-frequency bin of some row is
  // not finite. Every input value reaches that bin through additions and multiplications (by 1
  // and 0 for the zero-frequency twiddles), so this is always the case when an input is NaN or
  // infinite; finite inputs that overflow give it too. Callers validate the input only then.
  bool (*cfft_rows)(const CplxPlanView<T>& p, const T* in, std::size_t in_stride, T* out,
                    std::size_t out_stride, std::size_t n_rows, int scalar, int inverse, T scale,
                    T* scratch);
  // out[r] = scale * rfft(in[r]) (n real -> n/2 + 1 complex; in stride in reals, out in complex).
  bool (*rfft_rows)(const RealPlanView<T>& p, const T* in, std::size_t in_stride, T* out,
                    std::size_t out_stride, std::size_t n_rows, int scalar, T scale, T* scratch);
  // out[r] = scale * (unnormalised inverse real DFT of the Hermitian half spectrum in[r]).
  void (*irfft_rows)(const RealPlanView<T>& p, const T* in, std::size_t in_stride, T* out,
                     std::size_t out_stride, std::size_t n_rows, int scalar, T scale, T* scratch);
  // Frames [f_begin, f_end) of one clip (f_begin a multiple of lanes).
  void (*frames)(const FrameJob<T>& job, std::size_t f_begin, std::size_t f_end, T* scratch);
  // True when all n values are finite.
  bool (*all_finite)(const T* x, std::size_t n);
  // Decibels of n finite power values: out[i] = T(double(T(10 log10(max(amin, in[i])))) - ref_db)
  // (librosa.power_to_db before its top_db floor); returns the largest out[i] (-inf for n = 0).
  // float: a vectorised logarithm within 2 ulp; double: the C library's log10.
  T (*power_db)(const T* in, T* out, std::size_t n, T amin, double ref_db);
};

const KernelTable<float>* kernels_baseline_f();
const KernelTable<double>* kernels_baseline_d();
#if defined(RAE_HAVE_AVX2_KERNELS)
const KernelTable<float>* kernels_avx2_f();
const KernelTable<double>* kernels_avx2_d();
#endif
#if defined(RAE_HAVE_AVX512_KERNELS)
const KernelTable<float>* kernels_avx512_f();
const KernelTable<double>* kernels_avx512_d();
#endif

}  // namespace kern
}  // namespace rae
