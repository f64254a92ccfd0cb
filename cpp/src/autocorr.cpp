#include "rae/autocorr.hpp"

#include <stdexcept>
#include <string>

#include "rae/fft.hpp"

namespace rae {

std::size_t autocorr_fft_size(std::size_t frame_len, std::size_t max_lag) {
  if (frame_len > kMaxFftSize || max_lag > kMaxFftSize - frame_len)
    throw std::invalid_argument("frame_length + max_lag = " + std::to_string(frame_len) + " + " +
                                std::to_string(max_lag) + " exceeds the largest FFT size, 2^27");
  return next_pow2(frame_len + max_lag);
}

AcfMethod autocorr_resolve(const AutocorrParams& p) {
  if (p.method != AcfMethod::automatic) return p.method;
  return autocorr_prefer_direct(p.frame_len, p.max_lag, autocorr_fft_size(p.frame_len, p.max_lag))
             ? AcfMethod::direct
             : AcfMethod::fft;
}

template <class T>
void autocorrelogram(const T* y, std::size_t n_clips, std::size_t len, std::size_t clip_stride,
                     const AutocorrParams& p, const T* window, T* out,
                     std::size_t out_clip_stride, int n_threads) {
  if (p.frame_len == 0) throw std::invalid_argument("frame_length must be positive");
  if (p.max_lag >= p.frame_len)
    throw std::invalid_argument("max_lag must be smaller than frame_length");
  FrameSpec<T> spec;
  spec.frame_len = p.frame_len;
  spec.n_fft = autocorr_fft_size(p.frame_len, p.max_lag);
  spec.hop = p.hop;
  spec.pad = p.pad;
  spec.pad_mode = p.pad_mode;
  spec.detrend = p.detrend;
  spec.window = window;
  spec.mode = autocorr_resolve(p) == AcfMethod::direct ? FrameMode::autocorr_direct
                                                       : FrameMode::autocorr;
  spec.max_lag = p.max_lag;
  spec.acf_norm = p.norm;
  frames_batch<T>(y, n_clips, len, clip_stride, spec, out, out_clip_stride, n_threads);
}

template void autocorrelogram<float>(const float*, std::size_t, std::size_t, std::size_t,
                                     const AutocorrParams&, const float*, float*, std::size_t,
                                     int);
template void autocorrelogram<double>(const double*, std::size_t, std::size_t, std::size_t,
                                      const AutocorrParams&, const double*, double*, std::size_t,
                                      int);

}  // namespace rae
