// Plain data describing FFT plans and framewise jobs, as the SIMD kernels consume them.
//
// Only plain aggregates of pointers and sizes (no constructors, no default member initialisers)
// cross the boundary to the kernel translation units: those are compiled with different
// instruction-set flags (baseline, AVX2/FMA, AVX-512), so they must not instantiate inline
// functions (std::vector members, ...) that other translation units also instantiate; the linker
// could otherwise pick an AVX-512 copy for code that runs on any CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rae {
namespace kern {

template <class T>
struct CplxPlanView {
  std::uint64_t n;
  int bluestein;
  // radix-2 (n a power of two): bit-reversal permutation and twiddles W_{2h}^j at [h + j], j < h
  const std::uint32_t* bitrev;
  const T* tw_re;
  const T* tw_im;
  // Bluestein: chirp c[k] = exp(-i pi k^2 / n) (n entries); FFT_L of the conjugate chirp filter,
  // scaled by 1/L and stored in bit-reversed order (L entries); the radix-2 plan of size L.
  std::uint64_t L;
  const T* chirp_re;
  const T* chirp_im;
  const T* filt_re;
  const T* filt_im;
  const CplxPlanView<T>* inner;
  // Mixed radix (n = product of radices 4, 2 and odd primes <= 31): Stockham autosort stages,
  // natural order in and out. Stage i has radix st_radix[i], m = n_cur / radix, stride st_s[i],
  // twiddles W_{n_cur}^{p k} (p < m, 1 <= k < radix) at mtw_*[st_tw[i] + p (radix - 1) + k - 1],
  // and for odd radices r the constants cos/sin(2 pi j k / r) (1 <= j, k <= (r-1)/2) at
  // rcos/rsin[st_rc[i] + (j - 1) (r - 1) / 2 + k - 1].
  int mixed;
  std::uint32_t n_stages;
  const std::uint32_t* st_radix;
  const std::uint64_t* st_m;
  const std::uint64_t* st_s;
  const std::uint64_t* st_tw;
  const std::uint64_t* st_rc;
  const T* mtw_re;
  const T* mtw_im;
  const T* rcos;
  const T* rsin;
};

// A real FFT of size n. Even n: a complex FFT of n/2 plus a post-processing pass with the
// twiddles W_n^k (k = 0..n/2). Odd n: a complex FFT of size n of the real input.
template <class T>
struct RealPlanView {
  std::uint64_t n;
  int odd;
  CplxPlanView<T> cplx;       // size n/2 (even n) or n (odd n)
  const T* post_re;  // even n: n/2 + 1 entries
  const T* post_im;
};

enum FrameMode : int {
  FM_COMPLEX = 0,      // complex spectrum, out[(bin * ld + frame)] as interleaved (re, im)
  FM_MAGNITUDE = 1,    // |X|^power (power given in power_exp; 1 = magnitude, 2 = power)
  FM_MEL = 2,          // band-sparse filterbank applied to scale * |X|^power_exp
  FM_AUTOCORR = 3,     // autocorrelation through |X|^2 and an inverse real FFT
  FM_AUTOCORR_DIRECT = 4,  // autocorrelation by direct dot products (small max_lag)
};

enum AcfNorm : int { ACF_NONE = 0, ACF_LAG0 = 1, ACF_UNBIASED = 2 };

// One clip's framing job: frames of frame_len samples every hop samples, windowed, zero-padded
// to the FFT size, transformed, reduced per mode and written time-last: out[row * out_ld + f].
template <class T>
struct FrameJob {
  RealPlanView<T> plan;           // real FFT of the padded frame
  const T* signal;      // the (already padded / pre-emphasised) clip, from frame sig_frame0 on:
  std::uint64_t sig_frame0;   // frame f starts at signal + hop * (f - sig_frame0)
  std::uint64_t hop;
  std::uint64_t frame_len;    // <= plan.n
  std::uint64_t n_frames;
  const T* window;      // frame_len entries, or nullptr for a rectangular window
  int detrend;                // subtract each frame's mean before windowing
  int mode;
  T power_exp;
  T scale;                    // multiplies |X|^power_exp (FM_MAGNITUDE, FM_MEL)
  // FM_MEL: band b covers bins [band_lo[b], band_lo[b] + band_len[b]) with weights
  // band_w[band_off[b] + i]
  std::uint32_t n_bands;
  const std::uint32_t* band_lo;
  const std::uint32_t* band_len;
  const std::uint64_t* band_off;
  const T* band_w;
  // FM_AUTOCORR*: lags 0..max_lag
  std::uint64_t max_lag;
  int acf_norm;
  // output
  T* out;
  std::uint64_t out_ld;       // in elements of T (complex: in complex elements)
};

}  // namespace kern
}  // namespace rae
