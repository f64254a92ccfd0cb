// Back from features to signals: inverse STFT (overlap-add), Griffin-Lim phase reconstruction,
// non-negative least squares through a filterbank (mel -> linear power), and autocorrelation ->
// power spectrum (Wiener-Khinchin).
//
// Conventions are librosa's (istft, griffinlim, feature.inverse.mel_to_stft): spectra are
// time-last, (n_fft/2 + 1, n_frames) per clip; a batch is n_clips such blocks at a stride.
// Every function validates its sizes first (std::invalid_argument) and splits its work over
// n_threads threads (<= 0: all cores) with results that do not depend on the thread count.
#pragma once

#include <complex>
#include <cstddef>

#include "rae/stft.hpp"

namespace rae {

// The STFT an inverse undoes.
template <class T>
struct IstftSpec {
  std::size_t n_fft = 0;
  std::size_t hop = 1;
  const T* window = nullptr;  // n_fft values (the analysis window centred in n_fft), or nullptr
  bool center = true;         // frames were centred: n_fft / 2 samples of padding on each side
  PadMode pad_mode = PadMode::constant;  // Griffin-Lim: padding of its forward STFTs
};

// Samples librosa.istft returns for n_frames frames when no length is asked for:
// n_fft + hop (n_frames - 1), minus 2 (n_fft / 2) when centred (0 if that is negative).
std::size_t istft_length(std::size_t n_frames, std::size_t n_fft, std::size_t hop, bool center);

// Frames librosa.istft uses for an output of `length` samples:
// min(n_frames, ceil((length + 2 (n_fft / 2 if centred)) / hop)).
std::size_t istft_frames_used(std::size_t n_frames, std::size_t length, std::size_t n_fft,
                              std::size_t hop, bool center);

// Throws std::invalid_argument unless an inverse of these sizes is possible: n_fft in
// [1, kMaxFftSize], hop >= 1, n_frames >= 1, length >= 1 (and representable sizes).
template <class T>
void istft_check(std::size_t n_frames, std::size_t length, const IstftSpec<T>& spec);

// librosa.istft: S holds n_clips complex spectra (n_fft/2 + 1, n_frames), clip c at
// S + c * S_clip_stride (complex elements). Each frame is inverse-transformed (irfft of n_fft
// points), windowed, overlap-added, divided by the sum of the squared windows wherever that sum
// exceeds the smallest normal number of T, trimmed by n_fft / 2 at the start when centred, and
// cut or zero-padded to `length` samples: out + c * out_stride.
template <class T>
void istft_batch(const std::complex<T>* S, std::size_t n_clips, std::size_t n_frames,
                 std::size_t S_clip_stride, const IstftSpec<T>& spec, T* out, std::size_t length,
                 std::size_t out_stride, int n_threads);

// librosa.griffinlim (fast Griffin-Lim with momentum, Perraudin et al. 2013). mag: n_clips
// magnitude spectra (n_fft/2 + 1, n_frames), clip c at mag + c * mag_clip_stride; init: the
// initial phases in the same layout (complex; librosa multiplies the magnitudes by them), or
// nullptr for zero phase (librosa's init=None). Each of the n_iter iterations inverts the
// current estimate (istft to `length` samples), takes its STFT (centred with spec.pad_mode
// padding when spec.center), subtracts momentum / (1 + momentum) times the previous iteration's
// STFT (from the second iteration on), keeps the phase and puts the magnitudes back. The result
// is the istft of the final estimate. `length` must give the STFT n_frames frames again.
template <class T>
void griffinlim_batch(const T* mag, std::size_t n_clips, std::size_t n_frames,
                      std::size_t mag_clip_stride, const std::complex<T>* init,
                      const IstftSpec<T>& spec, std::size_t n_iter, double momentum, T* out,
                      std::size_t length, std::size_t out_stride, int n_threads);

// Non-negative least squares through a filterbank (librosa.util.nnls with a mel basis, as in
// librosa.feature.inverse.mel_to_stft): for every column b of B (n_bands values), the x >= 0
// (n_bins values) that minimises ||A x - b||^2, A dense (n_bands, n_bins) in double precision
// (applied band-sparse). B: n_clips blocks (n_bands, n_frames) at B_clip_stride; X: n_clips
// blocks (n_bins, n_frames) at X_clip_stride. Starts from the projected minimum-norm solution
// max(0, pinv(A) b) (as librosa does; from zero for more than 1024 bands) and runs accelerated projected gradient steps (FISTA with
// adaptive restart) until the projected gradient of a column falls below tol * ||A^T b|| or
// max_iter steps; columns converge independently (results do not depend on the batch).
template <class T>
void nnls_filterbank(const double* A, std::size_t n_bands, std::size_t n_bins, const T* B,
                     std::size_t n_clips, std::size_t n_frames, std::size_t B_clip_stride, T* X,
                     std::size_t X_clip_stride, std::size_t max_iter, double tol, int n_threads);

// Wiener-Khinchin: the power spectrum of every frame from its autocorrelation.
// R: n_clips blocks (n_lags, n_frames) of lags 0..n_lags-1 at R_clip_stride (the layout of
// autocorrelogram()); lag_weights: n_lags weights applied to the lags (a lag window), or nullptr.
// out: n_clips blocks (n_fft/2 + 1, n_frames) at out_clip_stride with
// P[k] = sum over l in (-n_lags, n_lags) of w_|l| r_|l| exp(-2 pi i k l / n_fft), lags folded
// modulo n_fft. With all lags of an unnormalised autocorrelation of a frame of N <= n_fft
// samples this is exactly |rfft(frame, n_fft)|^2. Negative values (truncated lags) are set to 0
// when clip_negative.
template <class T>
void acf_to_power(const T* R, std::size_t n_clips, std::size_t n_lags, std::size_t n_frames,
                  std::size_t R_clip_stride, const T* lag_weights, std::size_t n_fft, T* out,
                  std::size_t out_clip_stride, bool clip_negative, int n_threads);

}  // namespace rae
