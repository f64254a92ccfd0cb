// C++ unit tests of the core, without Python: FFTs against a naive long-double DFT, windows,
// filterbanks, framing and thread-count invariance. Run through ctest (or tests/test_cpp_core.py).
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "rae/autocorr.hpp"
#include "rae/dispatch.hpp"
#include "rae/fft.hpp"
#include "rae/inverse.hpp"
#include "rae/mel.hpp"
#include "rae/parallel.hpp"
#include "rae/stft.hpp"
#include "rae/util.hpp"
#include "rae/window.hpp"

namespace {

int g_failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

using cld = std::complex<long double>;

// Naive O(n^2) DFT in long double with a precomputed table of roots of unity.
std::vector<cld> naive_dft(const std::vector<cld>& x, bool inverse) {
  const std::size_t n = x.size();
  const long double pi = 3.141592653589793238462643383279502884L;
  std::vector<cld> root(n);
  for (std::size_t k = 0; k < n; ++k) {
    long double a = (inverse ? 2.0L : -2.0L) * pi * (long double)k / (long double)n;
    root[k] = cld(std::cos(a), std::sin(a));
  }
  std::vector<cld> y(n);
  for (std::size_t k = 0; k < n; ++k) {
    cld acc = 0;
    std::size_t idx = 0;
    for (std::size_t j = 0; j < n; ++j) {
      acc += x[j] * root[idx];
      idx += k;
      if (idx >= n) idx -= n;
    }
    y[k] = acc;
  }
  return y;
}

template <class T>
void test_fft_size(std::size_t n, std::size_t rows, double tol) {
  std::mt19937 gen(unsigned(n * 7 + rows));
  std::normal_distribution<double> dist;
  std::vector<std::complex<T>> x(n * rows), y(n * rows), z(n * rows);
  for (auto& v : x) v = std::complex<T>(T(dist(gen)), T(dist(gen)));
  rae::fft_rows<T>(x.data(), n, y.data(), n, n, rows, false, T(1), 2);
  rae::fft_rows<T>(y.data(), n, z.data(), n, n, rows, true, T(1) / T(n), 2);
  for (std::size_t r : {std::size_t(0), rows - 1}) {
    std::vector<cld> xr(n);
    for (std::size_t k = 0; k < n; ++k) xr[k] = cld(x[r * n + k].real(), x[r * n + k].imag());
    auto ref = naive_dft(xr, false);
    long double err = 0, norm = 0, rt = 0;
    for (std::size_t k = 0; k < n; ++k) {
      cld d = cld(y[r * n + k].real(), y[r * n + k].imag()) - ref[k];
      err += std::norm(d);
      norm += std::norm(ref[k]);
      cld e = cld(z[r * n + k].real(), z[r * n + k].imag()) - xr[k];
      rt += std::norm(e);
    }
    const double rel = double(std::sqrt(err / norm));
    const double rel_rt = double(std::sqrt(rt / norm * (long double)n));
    check(rel < tol, "fft n=" + std::to_string(n) + " (" + rae::fft_algorithm(n) +
                         ") rel err " + std::to_string(rel));
    check(rel_rt < tol, "ifft(fft) n=" + std::to_string(n) + " rel err " + std::to_string(rel_rt));
  }
}

template <class T>
void test_rfft_size(std::size_t n, std::size_t rows, double tol) {
  std::mt19937 gen(unsigned(n * 13 + rows));
  std::normal_distribution<double> dist;
  const std::size_t nb = n / 2 + 1;
  std::vector<T> x(n * rows), back(n * rows);
  std::vector<std::complex<T>> X(nb * rows);
  for (auto& v : x) v = T(dist(gen));
  rae::rfft_rows<T>(x.data(), n, X.data(), nb, n, rows, T(1), 0);
  rae::irfft_rows<T>(X.data(), nb, back.data(), n, n, rows, T(1) / T(n), 0);
  for (std::size_t r : {std::size_t(0), rows - 1}) {
    std::vector<cld> xr(n);
    for (std::size_t k = 0; k < n; ++k) xr[k] = cld(x[r * n + k], 0);
    auto ref = naive_dft(xr, false);
    long double err = 0, norm = 0, rt = 0, xn = 0;
    for (std::size_t k = 0; k < nb; ++k) {
      err += std::norm(cld(X[r * nb + k].real(), X[r * nb + k].imag()) - ref[k]);
      norm += std::norm(ref[k]);
    }
    for (std::size_t k = 0; k < n; ++k) {
      long double d = (long double)back[r * n + k] - xr[k].real();
      rt += d * d;
      xn += xr[k].real() * xr[k].real();
    }
    check(double(std::sqrt(err / norm)) < tol, "rfft n=" + std::to_string(n));
    check(double(std::sqrt(rt / xn)) < tol, "irfft(rfft) n=" + std::to_string(n));
  }
}

void test_windows() {
  auto w = rae::make_window(rae::WindowKind::hann, 4, true);
  check(std::fabs(w[0]) < 1e-15 && std::fabs(w[1] - 0.5) < 1e-15 && std::fabs(w[2] - 1.0) < 1e-15,
        "periodic hann(4)");
  auto s = rae::make_window(rae::WindowKind::hann, 5, false);
  check(std::fabs(s[4]) < 1e-15 && std::fabs(s[2] - 1.0) < 1e-15, "symmetric hann(5)");
  auto h = rae::make_window(rae::WindowKind::hamming, 3, false);
  check(std::fabs(h[0] - 0.08) < 1e-12 && std::fabs(h[1] - 1.0) < 1e-12, "symmetric hamming(3)");
  bool threw = false;
  try {
    rae::parse_window("kaiser-bessel-whatever");
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "unknown window name throws");
}

void test_mel() {
  // Slaney mel scale: 1000 Hz = 15 mel; HTK: 1000 Hz = 999.98... mel
  check(std::fabs(rae::hz_to_mel(1000.0, false) - 15.0) < 1e-12, "slaney 1 kHz");
  check(std::fabs(rae::mel_to_hz(rae::hz_to_mel(3000.0, true), true) - 3000.0) < 1e-9, "htk round trip");
  auto W = rae::mel_filterbank(22050, 2048, 40, 0, 11025, false, rae::MelNorm::none, 0);
  double peak = 0;
  for (double v : W) peak = std::max(peak, v);
  check(peak <= 1.0 + 1e-12 && peak > 0.9, "unnormalised mel peaks are <= 1");
  auto sb = rae::sparsify<float, double>(W.data(), 40, 1025);
  for (std::size_t b = 0; b < 40; ++b) check(sb.len[b] > 0, "every band has bins");
}

void test_frames_threads() {
  // results must be bit-identical for any thread count
  std::mt19937 gen(5);
  std::normal_distribution<float> dist;
  const std::size_t clips = 3, len = 20000;
  std::vector<float> y(clips * len);
  for (auto& v : y) v = dist(gen);
  std::vector<double> wd = rae::make_window(rae::WindowKind::hann, 1000, true);
  std::vector<float> w(wd.begin(), wd.end());
  rae::FrameSpec<float> spec;
  spec.n_fft = 1000;
  spec.frame_len = 1000;
  spec.hop = 250;
  spec.pad = 500;
  spec.pad_mode = rae::PadMode::reflect;
  spec.window = w.data();
  spec.mode = rae::FrameMode::magnitude;
  const std::size_t nf = rae::frame_count(len, 1000, 250, 500), rows = 501;
  std::vector<float> a(clips * rows * nf), b(clips * rows * nf);
  rae::frames_batch<float>(y.data(), clips, len, len, spec, a.data(), rows * nf, 1);
  for (int t : {2, 3, 7}) {
    rae::frames_batch<float>(y.data(), clips, len, len, spec, b.data(), rows * nf, t);
    check(a == b, "STFT identical for n_threads=" + std::to_string(t));
  }
  // frame 5's spectrum against a direct DFT (double)
  const std::size_t f = 5;
  std::vector<cld> fr(1000);
  for (std::size_t t = 0; t < 1000; ++t) {
    const std::int64_t i = std::int64_t(f * 250 + t) - 500;
    const std::int64_t j = rae::pad_index(i, std::int64_t(len), rae::PadMode::reflect);
    fr[t] = cld((long double)y[j] * (long double)w[t], 0);
  }
  auto ref = naive_dft(fr, false);
  double err = 0, norm = 0;
  for (std::size_t k = 0; k < rows; ++k) {
    double r = double(std::norm(ref[k]));
    err = std::max(err, std::fabs(double(a[k * nf + f]) - r));
    norm = std::max(norm, r);
  }
  check(err / norm < 1e-5, "power spectrum of one frame matches a direct DFT");
}

void test_autocorr() {
  std::mt19937 gen(9);
  std::normal_distribution<float> dist;
  const std::size_t len = 4096;
  std::vector<float> y(len);
  for (auto& v : y) v = dist(gen);
  for (auto method : {rae::AcfMethod::fft, rae::AcfMethod::direct}) {
    rae::AutocorrParams p;
    p.frame_len = 512;
    p.hop = 256;
    p.max_lag = 100;
    p.norm = rae::AcfNorm::none;
    p.method = method;
    const std::size_t nf = rae::frame_count(len, 512, 256, 0);
    std::vector<float> out((p.max_lag + 1) * nf);
    rae::autocorrelogram<float>(y.data(), 1, len, len, p, nullptr, out.data(), out.size(), 2);
    double worst = 0;
    for (std::size_t f = 0; f < nf; ++f)
      for (std::size_t lag = 0; lag <= p.max_lag; ++lag) {
        double acc = 0;
        for (std::size_t t = 0; t + lag < 512; ++t) acc += double(y[f * 256 + t]) * y[f * 256 + t + lag];
        worst = std::max(worst, std::fabs(acc - out[lag * nf + f]) / 512.0);
      }
    check(worst < 1e-4, std::string("autocorrelation ") +
                            (method == rae::AcfMethod::fft ? "fft" : "direct") + " matches sums");
  }
}

void test_parallel() {
  std::vector<int> hits(1000, 0);
  rae::parallel_for(1000, 4, [&](std::size_t a, std::size_t b) {
    for (std::size_t i = a; i < b; ++i) hits[i] += 1;
  });
  bool all_one = true;
  for (int h : hits) all_one = all_one && h == 1;
  check(all_one, "parallel_for covers every index once");
  bool threw = false;
  try {
    rae::parallel_for(10, 2, [](std::size_t a, std::size_t) {
      if (a > 0) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    threw = true;
  }
  check(threw, "parallel_for propagates exceptions");
  for (std::size_t grain : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(5000)}) {
    std::vector<int> h(1000, 0);
    rae::parallel_for_dynamic(1000, 3, grain, [&](std::size_t a, std::size_t b) {
      for (std::size_t i = a; i < b; ++i) h[i] += 1;
    });
    bool once = true;
    for (int v : h) once = once && v == 1;
    check(once, "parallel_for_dynamic covers every index once (grain " + std::to_string(grain) + ")");
  }
  threw = false;
  try {
    rae::parallel_for_dynamic(100, 2, 3, [](std::size_t a, std::size_t) {
      if (a == 51) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    threw = true;
  }
  check(threw, "parallel_for_dynamic propagates exceptions");
}

void test_cpu_detection() {
  check(rae::simd_cpu_supports("baseline"), "baseline is always supported");
  check(!rae::simd_cpu_supports("sse9"), "unknown levels are not supported");
  for (const std::string& lv : rae::simd_levels_available())
    check(rae::simd_cpu_supports(lv), "available level " + lv + " is supported by the CPU");
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(_WIN32)
  // the CPUID-based detection agrees with the compiler's (which MSVC does not have)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw");
  check(rae::simd_cpu_supports("avx2") == avx2, "avx2 detection agrees with __builtin_cpu_supports");
  check(rae::simd_cpu_supports("avx512") == avx512,
        "avx512 detection agrees with __builtin_cpu_supports");
#endif
}


// ---------------------------------------------------------------- inverse transforms

template <class T>
std::vector<std::complex<T>> stft_of(const std::vector<T>& y, std::size_t n_clips, std::size_t len,
                                     std::size_t n_fft, std::size_t hop, const T* window,
                                     bool center, std::size_t& n_frames) {
  rae::FrameSpec<T> spec;
  spec.n_fft = n_fft;
  spec.frame_len = n_fft;
  spec.hop = hop;
  spec.pad = center ? n_fft / 2 : 0;
  spec.window = window;
  spec.mode = rae::FrameMode::complex;
  n_frames = rae::frame_count(len, n_fft, hop, spec.pad);
  const std::size_t nb = n_fft / 2 + 1;
  std::vector<std::complex<T>> S(n_clips * nb * n_frames);
  rae::frames_batch<T>(y.data(), n_clips, len, len, spec, reinterpret_cast<T*>(S.data()),
                       nb * n_frames, 2);
  return S;
}

template <class T>
std::vector<T> hann(std::size_t n) {
  auto w = rae::make_window(rae::WindowKind::hann, n, true);
  return std::vector<T>(w.begin(), w.end());
}

template <class T>
void test_istft_roundtrip(double tol) {
  std::mt19937 gen(5);
  std::normal_distribution<double> dist;
  struct Case { std::size_t n_fft, hop, len; bool center; };
  for (Case cs : {Case{16, 4, 100, true}, Case{64, 16, 1000, true}, Case{64, 32, 999, false},
                  Case{255, 64, 3000, true}, Case{512, 128, 4097, false},
                  Case{1000, 250, 5000, true}}) {
    const std::size_t n_clips = 3;
    std::vector<T> y(n_clips * cs.len);
    for (auto& v : y) v = T(dist(gen));
    const auto w = hann<T>(cs.n_fft);
    std::size_t nf = 0;
    auto S = stft_of<T>(y, n_clips, cs.len, cs.n_fft, cs.hop, w.data(), cs.center, nf);
    rae::IstftSpec<T> spec;
    spec.n_fft = cs.n_fft;
    spec.hop = cs.hop;
    spec.window = w.data();
    spec.center = cs.center;
    const std::size_t nb = cs.n_fft / 2 + 1;
    std::vector<T> a(n_clips * cs.len), b(n_clips * cs.len);
    rae::istft_batch<T>(S.data(), n_clips, nf, nb * nf, spec, a.data(), cs.len, cs.len, 1);
    rae::istft_batch<T>(S.data(), n_clips, nf, nb * nf, spec, b.data(), cs.len, cs.len, 3);
    check(a == b, "istft identical for 1 and 3 threads, n_fft=" + std::to_string(cs.n_fft));
    // without centring the first and last hop samples are not covered by a full window sum
    const std::size_t lo = cs.center ? 0 : cs.n_fft, hi = cs.center ? cs.len : cs.len - cs.n_fft;
    double err = 0;
    for (std::size_t c = 0; c < n_clips; ++c)
      for (std::size_t i = lo; i < hi; ++i)
        err = std::max(err, double(std::fabs(a[c * cs.len + i] - y[c * cs.len + i])));
    check(err < tol, "istft(stft(y)) == y, n_fft=" + std::to_string(cs.n_fft) + " hop=" +
                         std::to_string(cs.hop) + " err " + std::to_string(err));
  }
  check(rae::istft_length(10, 16, 4, true) == 36, "istft_length centred");
  check(rae::istft_length(10, 16, 4, false) == 52, "istft_length not centred");
  check(rae::istft_frames_used(10, 8, 16, 4, true) == 6, "istft_frames_used");
  rae::IstftSpec<T> bad;
  bad.n_fft = 16;
  bad.hop = 0;
  bool threw = false;
  try {
    rae::istft_check<T>(4, 10, bad);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "istft_check refuses hop 0");
}

template <class T>
double spectral_convergence(const std::vector<T>& y, std::size_t len, const std::vector<T>& mag,
                            std::size_t n_fft, std::size_t hop, const T* w) {
  std::size_t nf = 0;
  auto S = stft_of<T>(y, 1, len, n_fft, hop, w, true, nf);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < S.size(); ++i) {
    const double d = double(std::abs(S[i])) - double(mag[i]);
    num += d * d;
    den += double(mag[i]) * double(mag[i]);
  }
  return std::sqrt(num / den);
}

template <class T>
void test_griffinlim() {
  const std::size_t n_fft = 256, hop = 64, len = 4000;
  std::vector<T> y(len);
  for (std::size_t i = 0; i < len; ++i)  // a chirp with an envelope
    y[i] = T(std::sin(0.001 * double(i) * double(i) / 40.0) * (0.5 + 0.5 * std::sin(0.003 * i)));
  const auto w = hann<T>(n_fft);
  std::size_t nf = 0;
  auto S = stft_of<T>(y, 1, len, n_fft, hop, w.data(), true, nf);
  std::vector<T> mag(S.size());
  for (std::size_t i = 0; i < S.size(); ++i) mag[i] = std::abs(S[i]);
  rae::IstftSpec<T> spec;
  spec.n_fft = n_fft;
  spec.hop = hop;
  spec.window = w.data();
  double prev_sc = 1e9;
  for (std::size_t iters : {0, 4, 32}) {
    std::vector<T> a(len), b(len);
    rae::griffinlim_batch<T>(mag.data(), 1, nf, mag.size(), nullptr, spec, iters, 0.99,
                             a.data(), len, len, 1);
    rae::griffinlim_batch<T>(mag.data(), 1, nf, mag.size(), nullptr, spec, iters, 0.99,
                             b.data(), len, len, 2);
    check(a == b, "griffinlim identical for 1 and 2 threads, n_iter=" + std::to_string(iters));
    const double sc = spectral_convergence(a, len, mag, n_fft, hop, w.data());
    check(sc < prev_sc, "griffinlim converges: SC " + std::to_string(sc) + " after " +
                            std::to_string(iters) + " iterations");
    prev_sc = sc;
  }
  check(prev_sc < 0.2, "griffinlim SC after 32 iterations " + std::to_string(prev_sc));
  // the true phase as initialisation gives the signal back
  std::vector<std::complex<T>> ph(S.size());
  for (std::size_t i = 0; i < S.size(); ++i)
    ph[i] = mag[i] > T(0) ? S[i] / mag[i] : std::complex<T>(1, 0);
  std::vector<T> z(len);
  rae::griffinlim_batch<T>(mag.data(), 1, nf, mag.size(), ph.data(), spec, 0, 0.99, z.data(),
                           len, len, 2);
  double err = 0;
  for (std::size_t i = 0; i < len; ++i) err = std::max(err, double(std::fabs(z[i] - y[i])));
  check(err < 1e-4, "griffinlim with the true phase and no iteration gives y back");
  bool threw = false;
  try {
    std::vector<T> o(len + 1000);
    rae::griffinlim_batch<T>(mag.data(), 1, nf, mag.size(), nullptr, spec, 2, 0.99, o.data(),
                             len + 1000, len + 1000, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "griffinlim refuses a length that does not give the spectrogram's frames");
}

template <class T>
void test_nnls() {
  // full column rank (more bands than bins): the unique solution
  {
    const std::size_t nb = 12, nk = 7, nf = 5;
    std::mt19937 gen(3);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> A(nb * nk, 0.0);
    for (std::size_t b = 0; b < nb; ++b)
      for (std::size_t k = 0; k < nk; ++k)
        if (std::abs(int(b) / 2 - int(k)) <= 1) A[b * nk + k] = u(gen) + 0.1;
    std::vector<T> x(nk * nf), B(nb * nf, T(0)), X(nk * nf);
    for (auto& v : x) v = T(u(gen));
    for (std::size_t b = 0; b < nb; ++b)
      for (std::size_t k = 0; k < nk; ++k)
        for (std::size_t f = 0; f < nf; ++f) B[b * nf + f] += T(A[b * nk + k] * x[k * nf + f]);
    rae::nnls_filterbank<T>(A.data(), nb, nk, B.data(), 1, nf, nb * nf, X.data(), nk * nf, 500,
                            1e-7, 2);
    double err = 0;
    for (std::size_t i = 0; i < x.size(); ++i) err = std::max(err, double(std::fabs(X[i] - x[i])));
    check(err < 1e-4, "nnls recovers the unique solution, err " + std::to_string(err));
  }
  // a mel filterbank (underdetermined): non-negative, small residual, thread-invariant
  const std::size_t n_fft = 512, nk = n_fft / 2 + 1, nm = 40, nf = 21;
  auto A = rae::mel_filterbank(16000, n_fft, nm, 0, 8000, false, rae::MelNorm::slaney, 0);
  std::mt19937 gen(4);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<T> p(2 * nk * nf), M(2 * nm * nf, T(0));
  for (auto& v : p) v = T(u(gen) * u(gen));
  for (std::size_t c = 0; c < 2; ++c)
    for (std::size_t b = 0; b < nm; ++b)
      for (std::size_t k = 0; k < nk; ++k)
        for (std::size_t f = 0; f < nf; ++f)
          M[c * nm * nf + b * nf + f] += T(A[b * nk + k] * p[c * nk * nf + k * nf + f]);
  std::vector<T> X1(p.size()), X2(p.size());
  rae::nnls_filterbank<T>(A.data(), nm, nk, M.data(), 2, nf, nm * nf, X1.data(), nk * nf, 300,
                          1e-5, 1);
  rae::nnls_filterbank<T>(A.data(), nm, nk, M.data(), 2, nf, nm * nf, X2.data(), nk * nf, 300,
                          1e-5, 3);
  check(X1 == X2, "nnls identical for 1 and 3 threads");
  double res = 0, nrm = 0, mn = 0;
  for (std::size_t c = 0; c < 2; ++c)
    for (std::size_t b = 0; b < nm; ++b)
      for (std::size_t f = 0; f < nf; ++f) {
        double s = 0;
        for (std::size_t k = 0; k < nk; ++k) s += A[b * nk + k] * double(X1[c * nk * nf + k * nf + f]);
        const double m = double(M[c * nm * nf + b * nf + f]);
        res += (s - m) * (s - m);
        nrm += m * m;
      }
  for (T v : X1) mn = std::min(mn, double(v));
  check(mn >= 0, "nnls solution is non-negative");
  check(std::sqrt(res / nrm) < 1e-3, "nnls residual " + std::to_string(std::sqrt(res / nrm)));
}

template <class T>
void test_acf_to_power() {
  // all lags of an unnormalised autocorrelation give |rfft(frame)|^2 exactly
  const std::size_t frame = 100, n_fft = 256, hop = 50, len = 1000;
  std::mt19937 gen(9);
  std::normal_distribution<double> dist;
  std::vector<T> y(len);
  for (auto& v : y) v = T(dist(gen));
  rae::AutocorrParams p;
  p.frame_len = frame;
  p.hop = hop;
  p.max_lag = frame - 1;
  p.norm = rae::AcfNorm::none;
  const std::size_t nf = rae::frame_count(len, frame, hop, 0);
  std::vector<T> R(frame * nf);
  rae::autocorrelogram<T>(y.data(), 1, len, len, p, nullptr, R.data(), R.size(), 1);
  const std::size_t nb = n_fft / 2 + 1;
  std::vector<T> P(nb * nf), P2(nb * nf);
  rae::acf_to_power<T>(R.data(), 1, frame, nf, R.size(), nullptr, n_fft, P.data(), P.size(),
                       false, 1);
  rae::acf_to_power<T>(R.data(), 1, frame, nf, R.size(), nullptr, n_fft, P2.data(), P2.size(),
                       false, 3);
  check(P == P2, "acf_to_power identical for 1 and 3 threads");
  rae::FrameSpec<T> spec;
  spec.n_fft = n_fft;
  spec.frame_len = frame;
  spec.hop = hop;
  spec.mode = rae::FrameMode::magnitude;
  spec.power_exp = 2;
  std::vector<T> ref(nb * nf);
  rae::frames_batch<T>(y.data(), 1, len, len, spec, ref.data(), ref.size(), 1);
  double err = 0, mx = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, double(std::fabs(P[i] - ref[i])));
    mx = std::max(mx, double(ref[i]));
  }
  check(err < 1e-4 * mx, "acf_to_power(autocorrelation) == |rfft|^2, rel err " +
                             std::to_string(err / mx));
}

}  // namespace

int main() {
  std::printf("SIMD level: %s (float lanes %d)\n", rae::simd_level().c_str(), rae::simd_lanes_float());
  for (std::size_t n : {1, 2, 3, 4, 5, 8, 12, 16, 30, 37, 64, 97, 100, 128, 210, 256, 343, 1000, 1024, 1764, 4098})
    for (std::size_t rows : {1, 3, 17}) {
      test_fft_size<float>(n, rows, 2e-6 * std::log2(double(n) + 2));
      test_fft_size<double>(n, rows, 1e-13 * std::log2(double(n) + 2));
    }
  for (std::size_t n : {1, 2, 3, 6, 16, 22, 64, 97, 100, 512, 3528, 4096})
    for (std::size_t rows : {1, 5, 40}) {
      test_rfft_size<float>(n, rows, 3e-6 * std::log2(double(n) + 2));
      test_rfft_size<double>(n, rows, 1e-13 * std::log2(double(n) + 2));
    }
  test_windows();
  test_mel();
  test_frames_threads();
  test_autocorr();
  test_parallel();
  test_cpu_detection();
  test_istft_roundtrip<float>(2e-5);
  test_istft_roundtrip<double>(1e-12);
  test_griffinlim<float>();
  test_griffinlim<double>();
  test_nnls<float>();
  test_nnls<double>();
  test_acf_to_power<float>();
  test_acf_to_power<double>();
  if (g_failures) {
    std::fprintf(stderr, "%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("all C++ core tests passed\n");
  return 0;
}
