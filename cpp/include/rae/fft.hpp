// FFT plans and batched transforms.
//
// Complex transforms of any size n >= 1: powers of two use an iterative radix-2 Cooley-Tukey
// algorithm (radix-4 passes) with a precomputed bit-reversal permutation and twiddle table;
// sizes whose prime factors are all <= 31 (e.g. auDeep's 3528-sample windows) use a mixed-radix
// Stockham autosort FFT (radix 4, 2, 3, 5, 7 and generic odd primes); all other sizes use
// Bluestein's algorithm on a power-of-two plan of size L >= 2n - 1. Real transforms
// of even size go through a complex transform of half the size; odd sizes through a complex
// transform of the full size. Plans (cpp/src/fft_plan.hpp, internal) are immutable, cached per
// size, and shared between threads.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rae {

// Largest transform size accepted (2^27 points).
constexpr std::size_t kMaxFftSize = std::size_t(1) << 27;

bool is_pow2(std::size_t n);
// The smallest power of two >= n (1 for n = 0); throws std::overflow_error past 2^63.
std::size_t next_pow2(std::size_t n);
// Radices of the mixed-radix factorisation of n (4s first, then 2, then odd primes <= 31 in
// increasing order), or an empty vector when n has a larger prime factor.
std::vector<std::uint32_t> mixed_radices(std::size_t n);
// The algorithm a complex plan of size n uses: "radix-2", "mixed-radix" or "bluestein".
const char* fft_algorithm(std::size_t n);

// Batched transforms of n_rows rows; strides are in elements of the row type. Rows are split
// over n_threads threads (<= 0: all cores); results do not depend on the thread count.
// out = scale * FFT(in) (inverse: unnormalised inverse FFT, times scale).
//
// fft_rows and rfft_rows return false when the zero-frequency bin of some row is not finite:
// always the case when an input value is NaN or infinite (every input reaches that bin), and
// possible for finite inputs that overflow. A caller that must reject non-finite input thus
// needs to check the input only when they return false (the transform itself is the check).
template <class T>
bool fft_rows(const std::complex<T>* in, std::size_t in_stride, std::complex<T>* out,
              std::size_t out_stride, std::size_t n, std::size_t n_rows, bool inverse, T scale,
              int n_threads);
// out = scale * rfft(in): n reals -> n/2 + 1 complex bins.
template <class T>
bool rfft_rows(const T* in, std::size_t in_stride, std::complex<T>* out, std::size_t out_stride,
               std::size_t n, std::size_t n_rows, T scale, int n_threads);
// out = scale * (unnormalised inverse of rfft): n/2 + 1 bins -> n reals; scale = 1/n inverts
// rfft. The imaginary parts of the DC (and, for even n, Nyquist) bins are ignored.
template <class T>
void irfft_rows(const std::complex<T>* in, std::size_t in_stride, T* out, std::size_t out_stride,
                std::size_t n, std::size_t n_rows, T scale, int n_threads);

// Bytes of scratch memory, over all threads, that rfft_rows (or, with inverse, irfft_rows)
// allocates for n_rows rows of size n: per thread, only the buffers the transform uses, for one
// row at a time when the batch is too small to fill the SIMD lanes. Builds no plan.
template <class T>
std::size_t rfft_scratch_bytes(std::size_t n, std::size_t n_rows, int n_threads,
                               bool inverse = false);

}  // namespace rae
