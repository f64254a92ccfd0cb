// C++ unit tests of the core, without Python: FFTs against a naive long-double DFT, windows,
// filterbanks, framing and thread-count invariance. Run through ctest (or tests/test_cpp_core.py).
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rae/autocorr.hpp"
#include "rae/dispatch.hpp"
#include "rae/fft.hpp"
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
  if (g_failures) {
    std::fprintf(stderr, "%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("all C++ core tests passed\n");
  return 0;
}
