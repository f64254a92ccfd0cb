#include "rae/stft.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch_internal.hpp"
#include "fft_plan.hpp"
#include "scratch.hpp"
#include "rae/mel.hpp"
#include "rae/parallel.hpp"

namespace rae {

PadMode parse_pad_mode(const std::string& name) {
  if (name == "constant") return PadMode::constant;
  if (name == "reflect") return PadMode::reflect;
  if (name == "symmetric") return PadMode::symmetric;
  if (name == "edge") return PadMode::edge;
  if (name == "wrap") return PadMode::wrap;
  throw std::invalid_argument("pad_mode: unknown padding mode '" + name +
                              "' (supported: constant, reflect, symmetric, edge, wrap)");
}

std::int64_t pad_index(std::int64_t i, std::int64_t len, PadMode mode) {
  if (len < 1 || len >= (std::int64_t(1) << 62))  // (2 len must not overflow)
    throw std::invalid_argument("pad_index: len must be in [1, 2^62), got " + std::to_string(len));
  if (i >= 0 && i < len) return i;
  switch (mode) {
    case PadMode::constant:
      return -1;
    case PadMode::edge:
      return i < 0 ? 0 : len - 1;
    case PadMode::wrap: {
      std::int64_t j = i % len;
      return j < 0 ? j + len : j;
    }
    case PadMode::symmetric: {
      const std::int64_t period = 2 * len;
      std::int64_t j = i % period;
      if (j < 0) j += period;
      return j < len ? j : period - 1 - j;
    }
    case PadMode::reflect: {
      if (len == 1) return 0;
      const std::int64_t period = 2 * (len - 1);
      std::int64_t j = i % period;
      if (j < 0) j += period;
      return j < len ? j : period - j;
    }
  }
  return -1;
}

std::size_t frame_count(std::size_t len, std::size_t frame_len, std::size_t hop,
                        std::size_t pad) {
  if (pad > (std::numeric_limits<std::size_t>::max() - len) / 2)
    throw std::invalid_argument("pad = " + std::to_string(pad) + " is too large");
  const std::size_t padded = len + 2 * pad;
  if (hop == 0 || frame_len == 0 || padded < frame_len) return 0;
  return 1 + (padded - frame_len) / hop;
}

namespace {

int kernel_mode(FrameMode m) {
  switch (m) {
    case FrameMode::complex:
      return kern::FM_COMPLEX;
    case FrameMode::magnitude:
      return kern::FM_MAGNITUDE;
    case FrameMode::mel:
      return kern::FM_MEL;
    case FrameMode::autocorr:
      return kern::FM_AUTOCORR;
    case FrameMode::autocorr_direct:
      return kern::FM_AUTOCORR_DIRECT;
  }
  throw std::invalid_argument("mode: unknown frame mode");
}

int kernel_acf_norm(AcfNorm n) {
  switch (n) {
    case AcfNorm::none:
      return kern::ACF_NONE;
    case AcfNorm::lag0:
      return kern::ACF_LAG0;
    case AcfNorm::unbiased:
      return kern::ACF_UNBIASED;
  }
  throw std::invalid_argument("normalize: unknown autocorrelation normalisation");
}

}  // namespace

template <class T>
std::size_t frame_rows(const FrameSpec<T>& spec) {
  switch (spec.mode) {
    case FrameMode::mel:
      return spec.n_bands;
    case FrameMode::autocorr:
    case FrameMode::autocorr_direct:
      return spec.max_lag + 1;
    default:
      return spec.n_fft / 2 + 1;
  }
}

bool autocorr_prefer_direct(std::size_t frame_len, std::size_t max_lag, std::size_t n_fft) {
  // direct: ~ frame_len * (max_lag + 1) multiply-adds per frame; FFT route: a forward and an
  // inverse complex FFT of n_fft / 2 points plus passes, ~ 6 n_fft log2(n_fft) flops.
  double lg = std::log2(double(std::max<std::size_t>(n_fft, 2)));
  double direct = double(frame_len) * double(max_lag + 1);
  double fft = 3.0 * double(n_fft) * lg + 8.0 * double(n_fft);
  return direct < fft;
}

template <class T>
void frames_check(std::size_t len, const FrameSpec<T>& spec) {
  using std::to_string;
  if (spec.n_fft == 0 || spec.n_fft > kMaxFftSize)
    throw std::invalid_argument("n_fft = " + to_string(spec.n_fft) +
                                " is outside the supported range [1, 2^27]");
  if (spec.frame_len == 0 || spec.frame_len > spec.n_fft)
    throw std::invalid_argument("frame length (" + to_string(spec.frame_len) +
                                ") must be in [1, n_fft = " + to_string(spec.n_fft) + "]");
  if (spec.hop == 0) throw std::invalid_argument("hop_length must be positive");
  frame_count(len, spec.frame_len, spec.hop, spec.pad);  // throws when len + 2 pad overflows
  if (len == 0 && spec.pad > 0) throw std::invalid_argument("cannot pad an empty signal");
  if (spec.mode == FrameMode::mel && !spec.basis)
    throw std::invalid_argument("mel mode needs a filterbank basis");
  const bool is_acf = spec.mode == FrameMode::autocorr || spec.mode == FrameMode::autocorr_direct;
  if (is_acf && spec.max_lag >= spec.frame_len)
    throw std::invalid_argument("max_lag (" + to_string(spec.max_lag) +
                                ") must be smaller than frame_length (" +
                                to_string(spec.frame_len) + ")");
  if (spec.mode == FrameMode::autocorr && spec.n_fft < spec.frame_len + spec.max_lag)
    throw std::invalid_argument("n_fft too small for the requested lags");
  kernel_mode(spec.mode);
  kernel_acf_norm(spec.acf_norm);
}

template <class T>
void frames_batch(const T* y, std::size_t n_clips, std::size_t len, std::size_t clip_stride,
                  const FrameSpec<T>& spec, T* out, std::size_t out_clip_stride, int n_threads) {
  frames_check(len, spec);
  const std::size_t n_frames = frame_count(len, spec.frame_len, spec.hop, spec.pad);
  if (n_frames == 0 || n_clips == 0) return;
  auto plan = RfftPlan<T>::get(spec.n_fft);
  const auto& K = kernels<T>();
  const std::size_t W = std::size_t(K.lanes);

  SparseBank<T> bank;
  if (spec.mode == FrameMode::mel) bank = sparsify<T, T>(spec.basis, spec.n_bands, spec.n_fft / 2 + 1);

  kern::FrameJob<T> proto{};
  proto.plan = plan->view();
  proto.hop = spec.hop;
  proto.frame_len = spec.frame_len;
  proto.n_frames = n_frames;
  proto.window = spec.window;
  proto.detrend = spec.detrend ? 1 : 0;
  proto.mode = kernel_mode(spec.mode);
  proto.power_exp = spec.power_exp;
  proto.scale = spec.scale;
  proto.n_bands = std::uint32_t(bank.n_bands);
  proto.band_lo = bank.lo.data();
  proto.band_len = bank.len.data();
  proto.band_off = bank.off.data();
  proto.band_w = bank.w.data();
  proto.max_lag = spec.max_lag;
  proto.acf_norm = kernel_acf_norm(spec.acf_norm);
  proto.out_ld = n_frames;

  const bool need_copy = spec.pad > 0 || spec.pre_emphasis != T(0);
  const std::size_t groups_per_clip = (n_frames + W - 1) / W;
  const std::size_t n_tasks = n_clips * groups_per_clip;
  const std::size_t scratch_n = K.frames_scratch(proto);
  const std::size_t cplx = spec.mode == FrameMode::complex ? 2 : 1;
  const std::int64_t ilen = std::int64_t(len), ipad = std::int64_t(spec.pad);

  // Sample i of the pre-emphasised clip (the same expression for every i, whichever thread
  // computes it).
  auto emph = [&](const T* clip, std::int64_t i) -> T {
    if (spec.pre_emphasis == T(0) || i == 0) return clip[i];
    return clip[i] - spec.pre_emphasis * clip[i - 1];
  };

  // Frames [fi0, fi1) lie inside the clip: with padding but no pre-emphasis they are read from
  // the clip itself, the others (near the edges, or all with pre-emphasis) from a padded copy of
  // the samples they cover.
  std::size_t fi0 = 0, fi1 = n_frames;
  if (need_copy) {
    if (spec.pre_emphasis != T(0) || len < spec.frame_len) {
      fi0 = fi1 = 0;
    } else {
      fi0 = std::min(n_frames, (spec.pad + spec.hop - 1) / spec.hop);
      fi1 = std::min(n_frames, (spec.pad + len - spec.frame_len) / spec.hop + 1);
      if (fi1 < fi0) fi1 = fi0;
    }
  }

  // Frames [f0, f1) of clip c (f0 a multiple of W).
  auto run = [&](std::size_t c, std::size_t f0, std::size_t f1, T* scratch) {
    const T* clip = y + c * clip_stride;
    kern::FrameJob<T> job = proto;
    job.out = out + c * out_clip_stride * cplx;
    if (f0 >= fi0 && f1 <= fi1) {
      // inside the clip: frame f starts at clip sample f hop - pad
      job.signal = clip + (f0 * spec.hop - spec.pad);
      job.sig_frame0 = f0;
      K.frames(job, f0, f1, scratch);
      return;
    }
    // padded samples [f0 hop, (f1 - 1) hop + frame_len)
    const std::size_t p0 = f0 * spec.hop;
    const std::size_t n_s = (f1 - 1 - f0) * spec.hop + spec.frame_len;
    ThreadScratch<T, 1> sig_buf(n_s);
    T* sig = sig_buf.get();
    // sig[k] is padded sample p0 + k, i.e. clip sample p0 + k - pad: the interior
    // [k_lo, k_hi) comes from the clip, the rest from the padding rule
    const std::int64_t off = std::int64_t(p0) - ipad;
    const std::size_t k_lo = std::size_t(std::min<std::int64_t>(std::int64_t(n_s),
                                                                std::max<std::int64_t>(0, -off)));
    const std::size_t k_hi = std::size_t(std::max<std::int64_t>(
        std::int64_t(k_lo), std::min<std::int64_t>(std::int64_t(n_s), ilen - off)));
    auto padded = [&](std::size_t k) {
      const std::int64_t j = pad_index(std::int64_t(k) + off, ilen, spec.pad_mode);
      return j < 0 ? T(0) : emph(clip, j);
    };
    for (std::size_t k = 0; k < k_lo; ++k) sig[k] = padded(k);
    if (k_hi > k_lo && spec.pre_emphasis == T(0)) {
      std::copy(clip + (std::int64_t(k_lo) + off), clip + (std::int64_t(k_hi) + off), sig + k_lo);
    } else {
      for (std::size_t k = k_lo; k < k_hi; ++k) sig[k] = emph(clip, std::int64_t(k) + off);
    }
    for (std::size_t k = k_hi; k < n_s; ++k) sig[k] = padded(k);
    job.signal = sig;
    job.sig_frame0 = f0;
    K.frames(job, f0, f1, scratch);
  };

  // Chunks of frame groups are claimed dynamically (a late or slow thread does less of the
  // work); a chunk's groups inside the clip run as one segment, the edge groups each on its own.
  parallel_for_dynamic(n_tasks, n_threads, 0, [&](std::size_t t0, std::size_t t1) {
    ThreadScratch<T, 0> scratch_buf(scratch_n);
    T* scratch = scratch_buf.get();
    std::size_t t = t0;
    while (t < t1) {
      const std::size_t c = t / groups_per_clip;
      const std::size_t g0 = t % groups_per_clip;
      const std::size_t g1 = std::min(groups_per_clip, g0 + (t1 - t));
      std::size_t g = g0;
      while (g < g1) {
        const std::size_t f0 = g * W;
        std::size_t ge = g + 1;  // extend over the groups inside the clip
        if (f0 >= fi0 && std::min(n_frames, ge * W) <= fi1)
          while (ge < g1 && std::min(n_frames, (ge + 1) * W) <= fi1) ++ge;
        run(c, f0, std::min(n_frames, ge * W), scratch);
        g = ge;
      }
      t += g1 - g0;
    }
  });
}

#define RAE_INST(T)                                                                         \
  template std::size_t frame_rows<T>(const FrameSpec<T>&);                                \
  template void frames_check<T>(std::size_t, const FrameSpec<T>&);                        \
  template void frames_batch<T>(const T*, std::size_t, std::size_t, std::size_t,          \
                                const FrameSpec<T>&, T*, std::size_t, int);
RAE_INST(float)
RAE_INST(double)
#undef RAE_INST

}  // namespace rae
