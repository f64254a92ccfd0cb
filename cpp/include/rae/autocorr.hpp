// Framewise autocorrelation (autocorrelograms): time x lag x amplitude.
#pragma once

#include <cstddef>

#include "rae/stft.hpp"

namespace rae {

enum class AcfMethod { automatic, fft, direct };

struct AutocorrParams {
  std::size_t frame_len = 2048;
  std::size_t hop = 512;
  std::size_t max_lag = 0;     // lags 0..max_lag (< frame_len)
  std::size_t pad = 0;         // centring: samples added on each side
  PadMode pad_mode = PadMode::constant;
  bool detrend = false;
  AcfNorm norm = AcfNorm::lag0;
  AcfMethod method = AcfMethod::automatic;
};

// FFT size used by the Wiener-Khinchin route: the smallest power of two >= frame_len + max_lag
// (so the circular correlation equals the linear one for every lag returned). Throws
// std::invalid_argument when frame_len + max_lag > kMaxFftSize.
std::size_t autocorr_fft_size(std::size_t frame_len, std::size_t max_lag);

// The method `automatic` resolves to for these sizes.
AcfMethod autocorr_resolve(const AutocorrParams& p);

// y: n_clips clips of len samples (clip c at y + c * clip_stride); window: frame_len values or
// nullptr. out: (n_clips, max_lag + 1, n_frames), clip c at out + c * out_clip_stride.
template <class T>
void autocorrelogram(const T* y, std::size_t n_clips, std::size_t len, std::size_t clip_stride,
                     const AutocorrParams& p, const T* window, T* out,
                     std::size_t out_clip_stride, int n_threads);

}  // namespace rae
