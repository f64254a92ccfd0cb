// Framing and framewise transforms of batches of clips: STFT (complex, magnitude, power), mel
// spectrograms and autocorrelations, in one call per batch. Output is time-last:
// out[clip][row][frame] with row = frequency bin, mel band or lag.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rae {

// numpy.pad modes usable for centring: constant (zeros), reflect, symmetric, edge, wrap.
enum class PadMode { constant, reflect, symmetric, edge, wrap };
PadMode parse_pad_mode(const std::string& name);

// Index into a signal of length len >= 1 for any position i, following numpy.pad's rule for the
// given mode; returns -1 for constant padding outside [0, len). Throws std::invalid_argument
// for len < 1 or len >= 2^62.
std::int64_t pad_index(std::int64_t i, std::int64_t len, PadMode mode);

// Frames of frame_len samples every hop samples over a signal of len samples padded by `pad`
// samples on each side: 1 + (len + 2 pad - frame_len) / hop, or 0 if the padded signal is
// shorter than one frame (or hop / frame_len is 0). Throws std::invalid_argument when
// len + 2 pad overflows.
std::size_t frame_count(std::size_t len, std::size_t frame_len, std::size_t hop, std::size_t pad);

// What each frame becomes (rows of output per frame in brackets).
enum class FrameMode {
  complex,          // complex spectrum [n_fft/2 + 1], interleaved (re, im)
  magnitude,        // scale * |X|^power_exp [n_fft/2 + 1] (power_exp 1: magnitude, 2: power)
  mel,              // band-sparse filterbank applied to scale * |X|^power_exp [n_bands]
  autocorr,         // autocorrelation through |X|^2 and an inverse real FFT [max_lag + 1]
  autocorr_direct,  // autocorrelation by direct dot products (small max_lag) [max_lag + 1]
};

// Normalisation of autocorrelations: none, divided by lag 0, or unbiased (by frame_len - lag).
enum class AcfNorm { none, lag0, unbiased };

template <class T>
struct FrameSpec {
  std::size_t n_fft = 0;       // FFT size (>= frame_len): frames are zero-padded to it
  std::size_t frame_len = 0;   // samples per frame
  std::size_t hop = 1;
  std::size_t pad = 0;         // samples added on each side of the clip (centring)
  PadMode pad_mode = PadMode::constant;
  T pre_emphasis = 0;          // y[t] - a y[t-1] applied before padding (0: off)
  bool detrend = false;        // subtract each frame's mean before windowing
  const T* window = nullptr;   // frame_len values, or nullptr (rectangular)
  FrameMode mode = FrameMode::magnitude;
  T power_exp = 2;             // |X|^power_exp
  T scale = 1;
  const T* basis = nullptr;    // mel: dense (n_bands, n_fft/2 + 1) filterbank
  std::size_t n_bands = 0;
  std::size_t max_lag = 0;     // autocorr*: lags 0..max_lag
  AcfNorm acf_norm = AcfNorm::none;
};

// Rows of output per frame for a spec: n_fft/2 + 1 bins, n_bands, or max_lag + 1 lags.
template <class T>
std::size_t frame_rows(const FrameSpec<T>& spec);

// Throws std::invalid_argument unless spec can frame signals of len samples: n_fft in
// [1, kMaxFftSize], frame_len in [1, n_fft], hop >= 1, len + 2 pad representable (and len >= 1
// when pad > 0), a basis for mel mode, max_lag < frame_len for the autocorrelations (and
// n_fft >= frame_len + max_lag for the FFT route). frames_batch checks this first.
template <class T>
void frames_check(std::size_t len, const FrameSpec<T>& spec);

// y: n_clips clips of len samples, clip c at y + c * clip_stride. out: clip c at
// out + c * out_clip_stride (in elements of T; FrameMode::complex writes interleaved complex values and
// its strides count complex elements), row r of frame f at [r * n_frames + f].
template <class T>
void frames_batch(const T* y, std::size_t n_clips, std::size_t len, std::size_t clip_stride,
                  const FrameSpec<T>& spec, T* out, std::size_t out_clip_stride, int n_threads);

// Cost-based choice of the autocorrelation method: true when direct dot products are cheaper
// than the FFT route for these sizes.
bool autocorr_prefer_direct(std::size_t frame_len, std::size_t max_lag, std::size_t n_fft);

}  // namespace rae
