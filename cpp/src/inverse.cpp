#include "rae/inverse.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rae/fft.hpp"
#include "rae/mel.hpp"
#include "rae/parallel.hpp"

#if defined(_MSC_VER) || defined(__GNUC__) || defined(__clang__)
#define RAE_INV_RESTRICT __restrict
#else
#define RAE_INV_RESTRICT
#endif

namespace rae {

namespace {

using std::to_string;

constexpr std::size_t kMaxSize = std::size_t(1) << 62;
// Working memory one batched step may hold (frames of a group of clips) before the batch is
// cut into groups of clips.
constexpr std::size_t kGroupBytes = std::size_t(256) << 20;
// Output samples per overlap-add task.
constexpr std::size_t kOlaBlock = 8192;

std::size_t mul_checked(std::size_t a, std::size_t b, const char* what) {
  if (a != 0 && b > kMaxSize / a) throw std::invalid_argument(std::string(what) + " is too large");
  return a * b;
}

// Sum of the padded buffer of an overlap-add: n_fft + hop (n_frames - 1).
std::size_t ola_full(std::size_t n_frames, std::size_t n_fft, std::size_t hop) {
  const std::size_t span = mul_checked(hop, n_frames - 1, "hop_length * n_frames");
  if (span > kMaxSize - n_fft) throw std::invalid_argument("the signal would be too long");
  return n_fft + span;
}

void check_fft_hop(std::size_t n_fft, std::size_t hop) {
  if (n_fft == 0 || n_fft > kMaxFftSize)
    throw std::invalid_argument("n_fft = " + to_string(n_fft) +
                                " is outside the supported range [1, 2^27]");
  if (hop == 0) throw std::invalid_argument("hop_length must be positive");
}

// The overlap-add of one call: frames, window and the sum of squared windows, shared by all
// clips of a batch.
template <class T>
struct Ola {
  std::size_t n_fft = 0, hop = 1, n_used = 0, start = 0, length = 0, full = 0;
  std::vector<T> win;  // n_fft values (ones for a rectangular window)
  std::vector<T> wss;  // full values: sum of squared windows at every sample of the buffer

  Ola(const IstftSpec<T>& spec, std::size_t n_frames, std::size_t len)
      : n_fft(spec.n_fft), hop(spec.hop), length(len) {
    n_used = istft_frames_used(n_frames, len, n_fft, hop, spec.center);
    start = spec.center ? n_fft / 2 : 0;
    full = ola_full(n_used, n_fft, hop);
    win.assign(n_fft, T(1));
    if (spec.window) std::copy(spec.window, spec.window + n_fft, win.begin());
    // sum of squared windows, each sample summed over its frames in double precision
    std::vector<double> sq(n_fft);
    for (std::size_t j = 0; j < n_fft; ++j) sq[j] = double(win[j]) * double(win[j]);
    wss.resize(full);
    for (std::size_t s = 0; s < full; ++s) {
      const std::size_t t_lo = s >= n_fft ? (s - n_fft) / hop + 1 : 0;
      const std::size_t t_hi = std::min(n_used, s / hop + 1);
      double acc = 0.0;
      for (std::size_t t = t_lo; t < t_hi; ++t) acc += sq[s - t * hop];
      wss[s] = T(acc);
    }
  }

  // Output samples [i0, i1) of one clip from its time-domain frames td (n_used rows of n_fft,
  // unwindowed) into y (the clip's output).
  void run(const T* td, std::size_t i0, std::size_t i1, T* y, std::vector<T>& buf) const {
    const T tiny = std::numeric_limits<T>::min();
    // buffer samples [s0, s1) that map to output [i0, i1)
    const std::size_t s0 = i0 + start;
    const std::size_t s1 = std::min(full, i1 + start);
    if (s0 >= s1) {
      std::fill(y + i0, y + i1, T(0));
      return;
    }
    buf.assign(s1 - s0, T(0));
    // frames t overlapping [s0, s1): t hop < s1 and t hop + n_fft > s0
    const std::size_t t_lo = s0 >= n_fft ? (s0 - n_fft) / hop + 1 : 0;
    const std::size_t t_hi = std::min(n_used, (s1 - 1) / hop + 1);
    for (std::size_t t = t_lo; t < t_hi; ++t) {
      const std::size_t f0 = t * hop;  // buffer sample of the frame's first value
      const std::size_t a = std::max(s0, f0), b = std::min(s1, f0 + n_fft);
      const T* fr = td + t * n_fft + (a - f0);
      const T* w = win.data() + (a - f0);
      T* o = buf.data() + (a - s0);
      const std::size_t n = b - a;
      for (std::size_t j = 0; j < n; ++j) o[j] += T(w[j] * fr[j]);
    }
    for (std::size_t s = s0; s < s1; ++s) {
      const T v = buf[s - s0];
      const T d = wss[s];
      y[s - start] = d > tiny ? T(v / d) : v;
    }
    std::fill(y + (s1 - start), y + i1, T(0));
  }
};

// Overlap-add of n_clips clips whose frames are in td (clip c: rows c * n_used ...), into out.
template <class T>
void ola_batch(const Ola<T>& ola, const T* td, std::size_t n_clips, T* out,
               std::size_t out_stride, int n_threads) {
  const std::size_t blocks = (ola.length + kOlaBlock - 1) / kOlaBlock;
  parallel_for(n_clips * blocks, n_threads, [&](std::size_t k0, std::size_t k1) {
    std::vector<T> buf;
    for (std::size_t k = k0; k < k1; ++k) {
      const std::size_t c = k / blocks, b = k % blocks;
      const std::size_t i0 = b * kOlaBlock, i1 = std::min(ola.length, i0 + kOlaBlock);
      ola.run(td + c * ola.n_used * ola.n_fft, i0, i1, out + c * out_stride, buf);
    }
  });
}

// Work buffers of the calling thread, kept between calls up to kKeepBytes each (a fresh
// allocation of a few MiB costs more in page faults than a whole inverse STFT). Slots are
// separate from the FFT's per-thread scratch.
constexpr std::size_t kKeepBytes = std::size_t(64) << 20;

template <class E>
class KeptBuffer {
 public:
  KeptBuffer(int slot, std::size_t n) {
    if (n * sizeof(E) <= kKeepBytes) {
      thread_local std::vector<E> bufs[6];
      std::vector<E>& b = bufs[slot];
      if (b.size() < n) {
        b = std::vector<E>();
        b.resize(n);
      }
      ptr_ = b.data();
    } else {
      own_.resize(n);
      ptr_ = own_.data();
    }
  }
  E* get() const { return ptr_; }

 private:
  std::vector<E> own_;
  E* ptr_ = nullptr;
};

// Clips per group so that a group's working memory stays near kGroupBytes.
std::size_t group_clips(std::size_t n_clips, std::size_t bytes_per_clip) {
  if (bytes_per_clip == 0) return std::max<std::size_t>(n_clips, 1);
  return std::max<std::size_t>(1, std::min(n_clips, kGroupBytes / bytes_per_clip));
}

// Time-last blocks (nb, n_frames) of g clips -> frame-major rows (g * nu, nb), frames t < nu,
// in tiles that keep both sides in cache.
template <class E>
void to_frame_major(const E* src, std::size_t clip_stride, std::size_t g, std::size_t nb,
                    std::size_t n_frames, std::size_t nu, E* dst, int n_threads) {
  constexpr std::size_t kTile = 16;
  const std::size_t tiles = (nu + kTile - 1) / kTile;
  parallel_for(g * tiles, n_threads, [&](std::size_t a, std::size_t b) {
    for (std::size_t q = a; q < b; ++q) {
      const std::size_t c = q / tiles, t0 = (q % tiles) * kTile;
      const std::size_t t1 = std::min(nu, t0 + kTile);
      const E* s = src + c * clip_stride;
      E* d = dst + c * nu * nb;
      for (std::size_t k0 = 0; k0 < nb; k0 += kTile) {
        const std::size_t k1 = std::min(nb, k0 + kTile);
        for (std::size_t k = k0; k < k1; ++k)
          for (std::size_t t = t0; t < t1; ++t) d[t * nb + k] = s[k * n_frames + t];
      }
    }
  });
}

// One frame of the Griffin-Lim update on interleaved complex values:
// a = rebuilt - coef * prev; ang = mag * a / (|a| + eps). The fast path computes |a| in T (it
// vectorises); values whose squared magnitude could have overflowed or lost precision to
// underflow are redone with a double-precision magnitude (what numpy's hypot gives).
template <class T>
void phase_update(const T* RAE_INV_RESTRICT reb, const T* RAE_INV_RESTRICT prev, T coef,
                  const T* RAE_INV_RESTRICT mag, T* RAE_INV_RESTRICT ang, std::size_t nb,
                  T eps) {
  const T lo = T(1e-30), hi = T(1e30);
  int bad = 0;
  for (std::size_t k = 0; k < nb; ++k) {
    const T re = reb[2 * k] - coef * prev[2 * k];
    const T im = reb[2 * k + 1] - coef * prev[2 * k + 1];
    const T ss = re * re + im * im;
    bad |= int(ss < lo) | int(ss > hi);
    const T f = mag[k] / (std::sqrt(ss) + eps);
    ang[2 * k] = re * f;
    ang[2 * k + 1] = im * f;
  }
  if (!bad) return;
  for (std::size_t k = 0; k < nb; ++k) {
    const T re = reb[2 * k] - coef * prev[2 * k];
    const T im = reb[2 * k + 1] - coef * prev[2 * k + 1];
    const T ss = re * re + im * im;
    if (!(ss < lo || ss > hi)) continue;
    const T a = T(std::hypot(double(re), double(im))) + eps;
    ang[2 * k] = T(re / a) * mag[k];
    ang[2 * k + 1] = T(im / a) * mag[k];
  }
}

}  // namespace

std::size_t istft_length(std::size_t n_frames, std::size_t n_fft, std::size_t hop, bool center) {
  check_fft_hop(n_fft, hop);
  if (n_frames == 0) return 0;
  const std::size_t full = ola_full(n_frames, n_fft, hop);
  const std::size_t trim = center ? 2 * (n_fft / 2) : 0;
  return full > trim ? full - trim : 0;
}

std::size_t istft_frames_used(std::size_t n_frames, std::size_t length, std::size_t n_fft,
                              std::size_t hop, bool center) {
  check_fft_hop(n_fft, hop);
  if (length > kMaxSize) throw std::invalid_argument("length is too large");
  const std::size_t padded = length + (center ? 2 * (n_fft / 2) : 0);
  return std::min(n_frames, (padded + hop - 1) / hop);
}

template <class T>
void istft_check(std::size_t n_frames, std::size_t length, const IstftSpec<T>& spec) {
  check_fft_hop(spec.n_fft, spec.hop);
  if (n_frames == 0) throw std::invalid_argument("the spectrogram has no frames");
  if (length == 0) throw std::invalid_argument("length must be at least 1");
  if (length > kMaxSize) throw std::invalid_argument("length is too large");
  ola_full(n_frames, spec.n_fft, spec.hop);
}

template <class T>
void istft_batch(const std::complex<T>* S, std::size_t n_clips, std::size_t n_frames,
                 std::size_t S_clip_stride, const IstftSpec<T>& spec, T* out, std::size_t length,
                 std::size_t out_stride, int n_threads) {
  istft_check(n_frames, length, spec);
  if (n_clips == 0) return;
  const Ola<T> ola(spec, n_frames, length);
  const std::size_t n_fft = spec.n_fft, nb = n_fft / 2 + 1, nu = ola.n_used;
  const std::size_t per_clip =
      mul_checked(nu, (n_fft + 2 * nb) * sizeof(T), "the spectrogram");
  const std::size_t group = group_clips(n_clips, per_clip);
  KeptBuffer<std::complex<T>> fm(0, mul_checked(group * nu, nb, "the spectrogram"));
  KeptBuffer<T> td(1, group * nu * n_fft);
  for (std::size_t c0 = 0; c0 < n_clips; c0 += group) {
    const std::size_t g = std::min(group, n_clips - c0);
    to_frame_major(S + c0 * S_clip_stride, S_clip_stride, g, nb, n_frames, nu, fm.get(),
                   n_threads);
    irfft_rows<T>(fm.get(), nb, td.get(), n_fft, n_fft, g * nu, T(1.0 / double(n_fft)),
                  n_threads);
    ola_batch(ola, td.get(), g, out + c0 * out_stride, out_stride, n_threads);
  }
}

template <class T>
void griffinlim_batch(const T* mag, std::size_t n_clips, std::size_t n_frames,
                      std::size_t mag_clip_stride, const std::complex<T>* init,
                      const IstftSpec<T>& spec, std::size_t n_iter, double momentum, T* out,
                      std::size_t length, std::size_t out_stride, int n_threads) {
  istft_check(n_frames, length, spec);
  if (!std::isfinite(momentum) || momentum < 0)
    throw std::invalid_argument("momentum must be finite and >= 0, got " + to_string(momentum));
  const std::size_t n_fft = spec.n_fft, nb = n_fft / 2 + 1, hop = spec.hop;
  const std::size_t pad = spec.center ? n_fft / 2 : 0;
  const std::size_t stft_frames = frame_count(length, n_fft, hop, pad);
  if (stft_frames != n_frames)
    throw std::invalid_argument("length = " + to_string(length) + " gives " +
                                to_string(stft_frames) + " STFT frames, the spectrogram has " +
                                to_string(n_frames));
  if (n_clips == 0) return;
  const Ola<T> ola(spec, n_frames, length);  // n_used == n_frames here
  const T coef = T(momentum / (1.0 + momentum));
  const T eps = std::numeric_limits<T>::min();
  const std::size_t per_clip = mul_checked(
      n_frames, (2 * n_fft + 7 * nb) * sizeof(T), "the spectrogram") + length * sizeof(T);
  const std::size_t group = group_clips(n_clips, per_clip);
  using C = std::complex<T>;
  const std::size_t cap = group * n_frames;
  KeptBuffer<T> mfm_b(0, cap * nb), td_b(1, cap * n_fft), y_b(2, group * length);
  KeptBuffer<C> ang_b(3, cap * nb), reb_b(4, cap * nb), prev_b(5, cap * nb);
  T* const mfm = mfm_b.get();
  T* const td = td_b.get();
  T* const y = y_b.get();
  C* const ang = ang_b.get();
  C* reb = reb_b.get();
  C* prev = prev_b.get();
  const std::int64_t len64 = std::int64_t(length);

  for (std::size_t c0 = 0; c0 < n_clips; c0 += group) {
    const std::size_t g = std::min(group, n_clips - c0);
    const std::size_t rows = g * n_frames;
    // magnitudes and initial estimate, frame-major
    parallel_for(rows, n_threads, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) {
        const std::size_t c = r / n_frames, t = r % n_frames;
        const T* src = mag + (c0 + c) * mag_clip_stride + t;
        const C* isrc = init ? init + (c0 + c) * mag_clip_stride + t : nullptr;
        T* m = mfm + r * nb;
        C* a = ang + r * nb;
        for (std::size_t k = 0; k < nb; ++k) {
          m[k] = src[k * n_frames];
          a[k] = isrc ? isrc[k * n_frames] * m[k] : C(m[k], T(0));
        }
      }
    });
    bool have_prev = false;
    for (std::size_t it = 0; it < n_iter; ++it) {
      irfft_rows<T>(ang, nb, td, n_fft, n_fft, rows, T(1.0 / double(n_fft)), n_threads);
      ola_batch(ola, td, g, y, length, n_threads);
      // frames of the new signal (padded as the forward STFT pads), windowed
      parallel_for(rows, n_threads, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
          const std::size_t c = r / n_frames, t = r % n_frames;
          const T* sig = y + c * length;
          T* fr = td + r * n_fft;
          const std::int64_t first = std::int64_t(t * hop) - std::int64_t(pad);
          const T* w = ola.win.data();
          if (first >= 0 && first + std::int64_t(n_fft) <= len64) {
            const T* s = sig + first;
            for (std::size_t j = 0; j < n_fft; ++j) fr[j] = w[j] * s[j];
          } else {
            for (std::size_t j = 0; j < n_fft; ++j) {
              const std::int64_t idx = pad_index(first + std::int64_t(j), len64, spec.pad_mode);
              fr[j] = idx < 0 ? T(0) : T(w[j] * sig[idx]);
            }
          }
        }
      });
      rfft_rows<T>(td, n_fft, reb, nb, n_fft, rows, T(1), n_threads);
      // keep the phase (with momentum), put the magnitudes back
      const T c_now = have_prev ? coef : T(0);
      parallel_for(rows, n_threads, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r)
          phase_update(reinterpret_cast<const T*>(reb + r * nb),
                       reinterpret_cast<const T*>((have_prev ? prev : reb) + r * nb), c_now,
                       mfm + r * nb,
                       reinterpret_cast<T*>(ang + r * nb), nb, eps);
      });
      std::swap(reb, prev);
      have_prev = true;
    }
    irfft_rows<T>(ang, nb, td, n_fft, n_fft, rows, T(1.0 / double(n_fft)), n_threads);
    ola_batch(ola, td, g, out + c0 * out_stride, out_stride, n_threads);
  }
}

// ---------------------------------------------------------------------------- NNLS

namespace {

// Dense Cholesky factor (lower, row-major) of an n x n symmetric positive definite matrix.
std::vector<double> cholesky(std::vector<double> G, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = G[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= G[j * n + k] * G[j * n + k];
    if (!(d > 0)) d = std::numeric_limits<double>::min();  // semi-definite: ridge covers it
    d = std::sqrt(d);
    G[j * n + j] = d;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = G[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= G[i * n + k] * G[j * n + k];
      G[i * n + j] = v / d;
    }
    for (std::size_t i = 0; i < j; ++i) G[i * n + j] = 0.0;
  }
  return G;
}

// Largest pinv initialisation we factorise (bands); larger banks start from zero.
constexpr std::size_t kMaxCholeskyBands = 1024;
// Columns solved together (vectorised along time).
constexpr std::size_t kNnlsBlock = 8;

}  // namespace

template <class T>
void nnls_filterbank(const double* A, std::size_t n_bands, std::size_t n_bins, const T* B,
                     std::size_t n_clips, std::size_t n_frames, std::size_t B_clip_stride, T* X,
                     std::size_t X_clip_stride, std::size_t max_iter, double tol, int n_threads) {
  if (n_bands == 0 || n_bins == 0) throw std::invalid_argument("the filterbank is empty");
  mul_checked(n_bands, n_bins, "the filterbank");
  if (!(tol >= 0) || !std::isfinite(tol))
    throw std::invalid_argument("tol must be finite and >= 0, got " + to_string(tol));
  for (std::size_t i = 0; i < n_bands * n_bins; ++i)
    if (!std::isfinite(A[i])) throw std::invalid_argument("the filterbank has non-finite values");
  if (n_clips == 0 || n_frames == 0) return;
  const SparseBank<double> bank = sparsify<double, double>(A, n_bands, n_bins);

  // Gram matrix G = A A^T from the band runs
  std::vector<double> G(n_bands * n_bands, 0.0);
  for (std::size_t a = 0; a < n_bands; ++a)
    for (std::size_t b = a; b < n_bands; ++b) {
      const std::size_t lo = std::max(bank.lo[a], bank.lo[b]);
      const std::size_t hi = std::min(bank.lo[a] + bank.len[a], bank.lo[b] + bank.len[b]);
      double s = 0.0;
      for (std::size_t k = lo; k < hi; ++k)
        s += bank.w[bank.off[a] + k - bank.lo[a]] * bank.w[bank.off[b] + k - bank.lo[b]];
      G[a * n_bands + b] = G[b * n_bands + a] = s;
    }
  // Lipschitz constant of the gradient: the largest eigenvalue of G (power iteration, capped
  // by Gershgorin's bound, which always holds)
  double gersh = 0.0, gmax = 0.0;
  for (std::size_t a = 0; a < n_bands; ++a) {
    double row = 0.0;
    for (std::size_t b = 0; b < n_bands; ++b) row += std::fabs(G[a * n_bands + b]);
    gersh = std::max(gersh, row);
    gmax = std::max(gmax, G[a * n_bands + a]);
  }
  if (!(gmax > 0)) {  // an all-zero filterbank: x = 0 minimises
    for (std::size_t c = 0; c < n_clips; ++c)
      for (std::size_t i = 0; i < n_bins * n_frames; ++i) X[c * X_clip_stride + i] = T(0);
    return;
  }
  double lip = gersh;
  if (n_bands <= kMaxCholeskyBands) {
    std::vector<double> v(n_bands, 1.0), w(n_bands);
    double lam = 0.0;
    for (int it = 0; it < 300; ++it) {
      double nrm = 0.0;
      for (std::size_t a = 0; a < n_bands; ++a) {
        double s = 0.0;
        for (std::size_t b = 0; b < n_bands; ++b) s += G[a * n_bands + b] * v[b];
        w[a] = s;
        nrm += s * s;
      }
      nrm = std::sqrt(nrm);
      if (!(nrm > 0)) break;
      lam = nrm;
      for (std::size_t a = 0; a < n_bands; ++a) v[a] = w[a] / nrm;
    }
    lip = std::min(gersh, 1.02 * lam);
  }
  const double step = 1.0 / lip;
  // pinv initialisation: x0 = max(0, A^T (A A^T + ridge)^-1 b)
  const bool use_pinv = n_bands <= kMaxCholeskyBands;
  std::vector<double> L;
  if (use_pinv) {
    std::vector<double> R = G;
    const double ridge = 1e-10 * gmax;
    for (std::size_t a = 0; a < n_bands; ++a)
      R[a * n_bands + a] += bank.len[a] == 0 ? 1.0 : ridge;
    L = cholesky(std::move(R), n_bands);
  }

  const std::size_t blocks_per_clip = (n_frames + kNnlsBlock - 1) / kNnlsBlock;
  parallel_for(n_clips * blocks_per_clip, n_threads, [&](std::size_t k0, std::size_t k1) {
    constexpr std::size_t W = kNnlsBlock;
    std::vector<double> b(n_bands * W), z(n_bands * W), r(n_bands * W);
    std::vector<double> x(n_bins * W), y(n_bins * W), xn(n_bins * W), g(n_bins * W);
    double t[W], thr[W];
    bool active[W];
    for (std::size_t k = k0; k < k1; ++k) {
      const std::size_t c = k / blocks_per_clip, f0 = (k % blocks_per_clip) * W;
      const std::size_t nw = std::min(W, n_frames - f0);
      const T* Bc = B + c * B_clip_stride;
      std::fill(b.begin(), b.end(), 0.0);
      for (std::size_t a = 0; a < n_bands; ++a)
        for (std::size_t j = 0; j < nw; ++j) b[a * W + j] = double(Bc[a * n_frames + f0 + j]);
      // g = A^T b (for the tolerance)
      auto At = [&](const std::vector<double>& v, std::vector<double>& outv) {
        std::fill(outv.begin(), outv.end(), 0.0);
        for (std::size_t a = 0; a < n_bands; ++a) {
          const double* wa = bank.w.data() + bank.off[a];
          const double* va = v.data() + a * W;
          for (std::size_t i = 0; i < bank.len[a]; ++i) {
            double* o = outv.data() + (bank.lo[a] + i) * W;
            const double wi = wa[i];
            for (std::size_t j = 0; j < W; ++j) o[j] += wi * va[j];
          }
        }
      };
      auto Ax = [&](const std::vector<double>& v, std::vector<double>& outv) {
        for (std::size_t a = 0; a < n_bands; ++a) {
          const double* wa = bank.w.data() + bank.off[a];
          double* o = outv.data() + a * W;
          for (std::size_t j = 0; j < W; ++j) o[j] = 0.0;
          for (std::size_t i = 0; i < bank.len[a]; ++i) {
            const double* vi = v.data() + (bank.lo[a] + i) * W;
            const double wi = wa[i];
            for (std::size_t j = 0; j < W; ++j) o[j] += wi * vi[j];
          }
        }
      };
      At(b, g);
      for (std::size_t j = 0; j < W; ++j) {
        double s = 0.0;
        for (std::size_t i = 0; i < n_bins; ++i) s += g[i * W + j] * g[i * W + j];
        thr[j] = tol * std::sqrt(s);
        active[j] = j < nw && s > 0.0;
        t[j] = 1.0;
      }
      if (use_pinv) {
        // z = (L L^T)^-1 b, column by column
        z = b;
        for (std::size_t a = 0; a < n_bands; ++a) {
          const double* La = L.data() + a * n_bands;
          for (std::size_t j = 0; j < W; ++j) {
            double s = z[a * W + j];
            for (std::size_t q = 0; q < a; ++q) s -= La[q] * z[q * W + j];
            z[a * W + j] = s / La[a];
          }
        }
        for (std::size_t a = n_bands; a-- > 0;) {
          for (std::size_t j = 0; j < W; ++j) {
            double s = z[a * W + j];
            for (std::size_t q = a + 1; q < n_bands; ++q) s -= L[q * n_bands + a] * z[q * W + j];
            z[a * W + j] = s / L[a * n_bands + a];
          }
        }
        At(z, x);
        for (double& v : x) v = v > 0.0 ? v : 0.0;
      } else {
        std::fill(x.begin(), x.end(), 0.0);
      }
      y = x;
      for (std::size_t it = 0; it < max_iter; ++it) {
        bool any = false;
        for (std::size_t j = 0; j < W; ++j) any = any || active[j];
        if (!any) break;
        Ax(y, r);
        for (std::size_t i = 0; i < n_bands * W; ++i) r[i] -= b[i];
        At(r, g);
        for (std::size_t j = 0; j < W; ++j) {
          if (!active[j]) continue;
          double gm = 0.0, dir = 0.0;
          for (std::size_t i = 0; i < n_bins; ++i) {
            const std::size_t q = i * W + j;
            double v = y[q] - step * g[q];
            v = v > 0.0 ? v : 0.0;
            xn[q] = v;
            const double d = v - y[q];
            gm += d * d;
            dir += g[q] * (v - x[q]);
          }
          if (std::sqrt(gm) * lip <= thr[j]) {
            for (std::size_t i = 0; i < n_bins; ++i) x[i * W + j] = xn[i * W + j];
            active[j] = false;
            continue;
          }
          if (dir > 0.0) {  // adaptive restart: the momentum points uphill
            t[j] = 1.0;
            for (std::size_t i = 0; i < n_bins; ++i) {
              const std::size_t q = i * W + j;
              x[q] = xn[q];
              y[q] = xn[q];
            }
            continue;
          }
          const double tn = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t[j] * t[j]));
          const double beta = (t[j] - 1.0) / tn;
          t[j] = tn;
          for (std::size_t i = 0; i < n_bins; ++i) {
            const std::size_t q = i * W + j;
            y[q] = xn[q] + beta * (xn[q] - x[q]);
            x[q] = xn[q];
          }
        }
      }
      T* Xc = X + c * X_clip_stride;
      for (std::size_t i = 0; i < n_bins; ++i)
        for (std::size_t j = 0; j < nw; ++j) Xc[i * n_frames + f0 + j] = T(x[i * W + j]);
    }
  });
}

// ---------------------------------------------------------------------------- Wiener-Khinchin

template <class T>
void acf_to_power(const T* R, std::size_t n_clips, std::size_t n_lags, std::size_t n_frames,
                  std::size_t R_clip_stride, const T* lag_weights, std::size_t n_fft, T* out,
                  std::size_t out_clip_stride, bool clip_negative, int n_threads) {
  check_fft_hop(n_fft, 1);
  if (n_lags == 0) throw std::invalid_argument("the autocorrelation has no lags");
  if (n_clips == 0 || n_frames == 0) return;
  const std::size_t nb = n_fft / 2 + 1;
  const std::size_t rows_total = mul_checked(n_clips, n_frames, "the autocorrelogram");
  const std::size_t per_row = (n_fft + 2 * nb) * sizeof(T);
  const std::size_t chunk = std::max<std::size_t>(1, std::min(rows_total, kGroupBytes / per_row));
  std::vector<T> seq(chunk * n_fft);
  std::vector<std::complex<T>> spec(chunk * nb);
  for (std::size_t r0 = 0; r0 < rows_total; r0 += chunk) {
    const std::size_t rows = std::min(chunk, rows_total - r0);
    parallel_for(rows, n_threads, [&](std::size_t a, std::size_t b) {
      for (std::size_t q = a; q < b; ++q) {
        const std::size_t r = r0 + q, c = r / n_frames, f = r % n_frames;
        const T* src = R + c * R_clip_stride + f;
        T* s = seq.data() + q * n_fft;
        std::fill(s, s + n_fft, T(0));
        s[0] = lag_weights ? T(lag_weights[0] * src[0]) : src[0];
        for (std::size_t l = 1; l < n_lags; ++l) {
          const T v = lag_weights ? T(lag_weights[l] * src[l * n_frames]) : src[l * n_frames];
          const std::size_t i = l % n_fft;
          s[i] += v;
          s[(n_fft - i) % n_fft] += v;
        }
      }
    });
    rfft_rows<T>(seq.data(), n_fft, spec.data(), nb, n_fft, rows, T(1), n_threads);
    parallel_for(rows, n_threads, [&](std::size_t a, std::size_t b) {
      for (std::size_t q = a; q < b; ++q) {
        const std::size_t r = r0 + q, c = r / n_frames, f = r % n_frames;
        T* o = out + c * out_clip_stride + f;
        const std::complex<T>* sp = spec.data() + q * nb;
        for (std::size_t k = 0; k < nb; ++k) {
          const T v = sp[k].real();
          o[k * n_frames] = clip_negative && v < T(0) ? T(0) : v;
        }
      }
    });
  }
}

#define RAE_INST(T)                                                                          \
  template void istft_check<T>(std::size_t, std::size_t, const IstftSpec<T>&);             \
  template void istft_batch<T>(const std::complex<T>*, std::size_t, std::size_t,            \
                               std::size_t, const IstftSpec<T>&, T*, std::size_t,           \
                               std::size_t, int);                                           \
  template void griffinlim_batch<T>(const T*, std::size_t, std::size_t, std::size_t,        \
                                    const std::complex<T>*, const IstftSpec<T>&,            \
                                    std::size_t, double, T*, std::size_t, std::size_t, int); \
  template void nnls_filterbank<T>(const double*, std::size_t, std::size_t, const T*,       \
                                   std::size_t, std::size_t, std::size_t, T*, std::size_t,  \
                                   std::size_t, double, int);                               \
  template void acf_to_power<T>(const T*, std::size_t, std::size_t, std::size_t,            \
                                std::size_t, const T*, std::size_t, T*, std::size_t, bool,  \
                                int);
RAE_INST(float)
RAE_INST(double)
#undef RAE_INST

}  // namespace rae
