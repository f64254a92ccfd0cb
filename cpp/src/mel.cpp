#include "rae/mel.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "rae/fft.hpp"

namespace rae {

namespace {
const double kFsp = 200.0 / 3.0;        // Slaney: Hz per mel below 1 kHz
const double kMinLogHz = 1000.0;
const double kMinLogMel = kMinLogHz / kFsp;  // 15
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel(double hz, bool htk) {
  if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  double mel = hz / kFsp;
  if (hz >= kMinLogHz) mel = kMinLogMel + std::log(hz / kMinLogHz) / kLogStep;
  return mel;
}

double mel_to_hz(double mel, bool htk) {
  if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  double hz = kFsp * mel;
  if (mel >= kMinLogMel) hz = kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel));
  return hz;
}

namespace {
// Shared argument checks of the filterbanks: sizes whose (n_mels, n_fft/2 + 1) matrix can be
// indexed, and a positive, finite sampling rate.
std::size_t check_bank(double sr, std::size_t n_fft, std::size_t n_mels) {
  if (!(sr > 0.0) || !std::isfinite(sr))
    throw std::invalid_argument("sr must be positive and finite, got " + std::to_string(sr));
  if (n_fft == 0 || n_fft > kMaxFftSize)
    throw std::invalid_argument("n_fft = " + std::to_string(n_fft) +
                                " is outside the supported range [1, 2^27]");
  const std::size_t n_bins = n_fft / 2 + 1;
  if (n_mels > std::numeric_limits<std::size_t>::max() / sizeof(double) / n_bins)
    throw std::length_error("n_mels = " + std::to_string(n_mels) + " is too large");
  return n_bins;
}

// numpy.linspace(start, stop, num) with endpoint=True
std::vector<double> linspace(double start, double stop, std::size_t num) {
  std::vector<double> y(num);
  if (num == 0) return y;
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double div = double(num - 1);
  const double step = (stop - start) / div;
  for (std::size_t i = 0; i < num; ++i) y[i] = double(i) * step + start;
  y[num - 1] = stop;
  return y;
}
}  // namespace

std::vector<double> mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels, double fmin,
                                   double fmax, bool htk, MelNorm norm, double p) {
  const std::size_t n_bins = check_bank(sr, n_fft, n_mels);
  std::vector<double> weights(n_mels * n_bins, 0.0);
  // fft frequencies: numpy.fft.rfftfreq(n_fft, d=1/sr)
  const double val = 1.0 / (double(n_fft) * (1.0 / sr));
  std::vector<double> fftfreqs(n_bins);
  for (std::size_t k = 0; k < n_bins; ++k) fftfreqs[k] = double(k) * val;
  // mel band edges
  std::vector<double> mels = linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2);
  std::vector<double> mel_f(n_mels + 2);
  for (std::size_t i = 0; i < n_mels + 2; ++i) mel_f[i] = mel_to_hz(mels[i], htk);
  for (std::size_t i = 0; i < n_mels; ++i) {
    const double fd0 = mel_f[i + 1] - mel_f[i];
    const double fd1 = mel_f[i + 2] - mel_f[i + 1];
    double* row = &weights[i * n_bins];
    for (std::size_t k = 0; k < n_bins; ++k) {
      const double lower = -(mel_f[i] - fftfreqs[k]) / fd0;
      const double upper = (mel_f[i + 2] - fftfreqs[k]) / fd1;
      double v = std::fmin(lower, upper);
      row[k] = v > 0.0 ? v : 0.0;
    }
    if (norm == MelNorm::slaney) {
      const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
      for (std::size_t k = 0; k < n_bins; ++k) row[k] *= enorm;
    } else if (norm == MelNorm::pnorm) {
      double length = 0.0;
      if (std::isinf(p)) {
        for (std::size_t k = 0; k < n_bins; ++k) length = std::fmax(length, std::fabs(row[k]));
      } else if (p == 0.0) {
        for (std::size_t k = 0; k < n_bins; ++k) length += row[k] != 0.0 ? 1.0 : 0.0;
      } else {
        for (std::size_t k = 0; k < n_bins; ++k) length += std::pow(std::fabs(row[k]), p);
        length = std::pow(length, 1.0 / p);
      }
      // librosa.util.normalize leaves rows whose norm is below the smallest normal unchanged
      if (length >= std::numeric_limits<double>::min())
        for (std::size_t k = 0; k < n_bins; ++k) row[k] /= length;
    }
  }
  return weights;
}

std::vector<double> audeep_mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels) {
  const std::size_t n_bins = check_bank(sr, n_fft, n_mels);
  std::vector<double> fbank(n_mels * n_bins, 0.0);
  const double high = 2595.0 * std::log10(1.0 + (sr / 2.0) / 700.0);
  std::vector<double> mel_points = linspace(0.0, high, n_mels + 2);
  std::vector<double> bin(n_mels + 2);
  for (std::size_t i = 0; i < n_mels + 2; ++i) {
    const double hz = 700.0 * (std::pow(10.0, mel_points[i] / 2595.0) - 1.0);
    bin[i] = std::floor((double(n_fft) + 1.0) * hz / sr);
  }
  for (std::size_t m = 1; m <= n_mels; ++m) {
    // bin edges lie in [0, (n_fft + 1) / 2]: exact as integers
    const std::int64_t left = std::int64_t(bin[m - 1]), center = std::int64_t(bin[m]),
                       right = std::int64_t(bin[m + 1]);
    double* row = &fbank[(m - 1) * n_bins];
    for (std::int64_t k = left; k < center; ++k)
      if (k >= 0 && std::size_t(k) < n_bins) row[k] = (double(k) - bin[m - 1]) / (bin[m] - bin[m - 1]);
    for (std::int64_t k = center; k < right; ++k)
      if (k >= 0 && std::size_t(k) < n_bins) row[k] = (bin[m + 1] - double(k)) / (bin[m + 1] - bin[m]);
  }
  return fbank;
}

}  // namespace rae
