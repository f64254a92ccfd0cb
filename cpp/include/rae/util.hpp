// Element-wise and per-clip passes: finiteness checks, decibels, auDeep's normalisation.
#pragma once

#include <cstddef>

namespace rae {

// True when all n values are finite (SIMD kernel).
template <class T>
bool all_finite(const T* x, std::size_t n);

// librosa.power_to_db on n values: 10 log10(max(amin, x)) - 10 log10(max(amin, ref)); then,
// when top_db >= 0, values below (max - top_db) are raised to it (max over all n values).
template <class T>
void power_to_db(const T* in, T* out, std::size_t n, double ref, double amin, double top_db,
                 int n_threads);

// auDeep's dB conversion (audeep.backend.signal.spectral.power_to_db) per spectrogram, in place:
// zeros are raised to the smallest positive power, then 10 log10(x / max); values are clipped
// below / above when clip_below / clip_above are finite (pass NaN for none). A spectrogram with
// no positive value becomes 0 dB. n_specs spectrograms of `size` values, spectrogram s at
// x + s * stride.
template <class T>
void audeep_db(T* x, std::size_t n_specs, std::size_t size, std::size_t stride, double clip_below,
               double clip_above, int n_threads);

// auDeep's mean normalisation per spectrogram, in place: subtract the mean, then scale linearly
// to [-1, 1] when max - min > 1e-4, otherwise only subtract the minimum.
template <class T>
void audeep_normalize(T* x, std::size_t n_specs, std::size_t size, std::size_t stride,
                      int n_threads);

}  // namespace rae
