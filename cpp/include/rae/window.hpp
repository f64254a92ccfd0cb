// Window functions, identical to scipy.signal.get_window.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rae {

enum class WindowKind { hann, hamming, blackman, bartlett, rectangular };

// Parses a window name ("hann", "hamming", "blackman", "bartlett", "boxcar"/"rectangular"/
// "rect"/"ones"; "hanning" is accepted for hann). Throws std::invalid_argument otherwise.
WindowKind parse_window(const std::string& name);

// The window of n points in double precision. periodic = true gives the DFT-even window used
// for spectral analysis (scipy's fftbins=True): the first n points of the symmetric window of
// n + 1 points. Throws std::invalid_argument for n > kMaxFftSize.
std::vector<double> make_window(WindowKind kind, std::size_t n, bool periodic);

}  // namespace rae
