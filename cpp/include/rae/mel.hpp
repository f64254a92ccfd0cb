// Mel filterbanks (librosa.filters.mel and auDeep's HTK filterbank) and their band-sparse form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rae {

double hz_to_mel(double hz, bool htk);
double mel_to_hz(double mel, bool htk);

enum class MelNorm { none, slaney, pnorm };

// Dense (n_mels, n_fft/2 + 1) filterbank, row-major, in double precision; identical to
// librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
// norm=...) before its cast to float32. norm = pnorm uses p (may be +inf). Both filterbanks
// throw std::invalid_argument unless sr > 0 is finite and 1 <= n_fft <= kMaxFftSize.
std::vector<double> mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels, double fmin,
                                   double fmax, bool htk, MelNorm norm, double p);

// auDeep's filterbank (audeep.backend.signal.spectral.mel_filter_bank): HTK mel points from 0 Hz
// to sr/2, triangles on floored FFT-bin edges floor((n_fft + 1) * hz / sr), no normalisation.
std::vector<double> audeep_mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels);

// A filterbank stored band by band: band b covers bins [lo[b], lo[b] + len[b]) with weights
// w[off[b] .. off[b] + len[b]).
template <class T>
struct SparseBank {
  std::size_t n_bands = 0, n_bins = 0;
  std::vector<std::uint32_t> lo, len;
  std::vector<std::uint64_t> off;
  std::vector<T> w;
};

// Keeps, for each band, the run from its first to its last non-zero weight.
template <class T, class U>
SparseBank<T> sparsify(const U* dense, std::size_t n_bands, std::size_t n_bins) {
  SparseBank<T> b;
  b.n_bands = n_bands;
  b.n_bins = n_bins;
  b.lo.resize(n_bands);
  b.len.resize(n_bands);
  b.off.resize(n_bands);
  for (std::size_t i = 0; i < n_bands; ++i) {
    const U* row = dense + i * n_bins;
    std::size_t first = n_bins, last = 0;
    for (std::size_t k = 0; k < n_bins; ++k)
      if (row[k] != U(0)) {
        if (first == n_bins) first = k;
        last = k;
      }
    b.off[i] = b.w.size();
    if (first == n_bins) {
      b.lo[i] = 0;
      b.len[i] = 0;
      continue;
    }
    b.lo[i] = std::uint32_t(first);
    b.len[i] = std::uint32_t(last - first + 1);
    for (std::size_t k = first; k <= last; ++k) b.w.push_back(T(row[k]));
  }
  return b;
}

}  // namespace rae
