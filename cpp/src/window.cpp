#include "rae/window.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "rae/fft.hpp"

namespace rae {

WindowKind parse_window(const std::string& name) {
  if (name == "hann" || name == "hanning" || name == "han") return WindowKind::hann;
  if (name == "hamming" || name == "hamm" || name == "ham") return WindowKind::hamming;
  if (name == "blackman" || name == "black" || name == "blk") return WindowKind::blackman;
  if (name == "bartlett" || name == "bart" || name == "brt") return WindowKind::bartlett;
  if (name == "boxcar" || name == "box" || name == "ones" || name == "rect" ||
      name == "rectangular")
    return WindowKind::rectangular;
  throw std::invalid_argument("window: unknown window '" + name +
                              "' (supported: hann, hamming, blackman, bartlett, rectangular/boxcar,"
                              " or an array of window values)");
}

std::vector<double> make_window(WindowKind kind, std::size_t n, bool periodic) {
  if (n > kMaxFftSize)
    throw std::invalid_argument("window length " + std::to_string(n) +
                                " is larger than the supported maximum of 2^27");
  std::vector<double> w(n, 1.0);
  if (n <= 1 || kind == WindowKind::rectangular) return w;
  const std::size_t M = periodic ? n + 1 : n;  // points of the symmetric window
  const double pi = 3.14159265358979323846;
  const double denom = double(M - 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = 2.0 * pi * double(i) / denom;
    switch (kind) {
      case WindowKind::hann:
        w[i] = 0.5 - 0.5 * std::cos(x);
        break;
      case WindowKind::hamming:
        w[i] = 0.54 - 0.46 * std::cos(x);
        break;
      case WindowKind::blackman:
        w[i] = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2.0 * x);
        break;
      case WindowKind::bartlett: {
        // scipy: 2/(M-1) * ((M-1)/2 - |i - (M-1)/2|)
        const double half = denom / 2.0;
        w[i] = 1.0 - std::fabs(double(i) - half) / half;
        break;
      }
      default:
        break;
    }
  }
  return w;
}

}  // namespace rae
