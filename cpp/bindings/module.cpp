// pybind11 module rae_fast._core: adapts numpy arrays to the C++ core.
//
// Thin by design: every function checks dtypes, shapes, contiguity and parameter ranges, raises
// TypeError / ValueError naming the offending parameter, releases the GIL and calls the core.
// User-facing defaults, shape handling and documentation live in the Python package.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>
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

namespace py = pybind11;

namespace {

enum class Kind { f32, f64, c64, c128, other };

Kind kind_of(const py::array& a) {
  if (a.dtype().is(py::dtype::of<float>())) return Kind::f32;
  if (a.dtype().is(py::dtype::of<double>())) return Kind::f64;
  if (a.dtype().is(py::dtype::of<std::complex<float>>())) return Kind::c64;
  if (a.dtype().is(py::dtype::of<std::complex<double>>())) return Kind::c128;
  return Kind::other;
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

[[noreturn]] void type_error(const std::string& msg) { throw py::type_error(msg); }
[[noreturn]] void value_error(const std::string& msg) { throw py::value_error(msg); }

void require_c(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style))
    value_error(std::string(name) + " must be C-contiguous");
}

void require_writeable(const py::array& a, const char* name) {
  if (!a.writeable()) value_error(std::string(name) + " must be writeable");
}

void require_ndim(const py::array& a, py::ssize_t ndim, const char* name) {
  if (a.ndim() != ndim)
    value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got " +
                std::to_string(a.ndim()) + "-D");
}

void require_shape(const py::array& a, std::vector<py::ssize_t> shape, const char* name) {
  bool ok = a.ndim() == py::ssize_t(shape.size());
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(i) == shape[i];
  if (!ok) {
    std::string want = "(", got = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) want += std::to_string(shape[i]) + (i + 1 < shape.size() ? ", " : "");
    for (py::ssize_t i = 0; i < a.ndim(); ++i) got += std::to_string(a.shape(i)) + (i + 1 < a.ndim() ? ", " : "");
    value_error(std::string(name) + " must have shape " + want + "), got " + got + ")");
  }
}

template <class F>
auto nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

// Translate C++ argument errors into ValueError (pybind11 maps std::invalid_argument to
// ValueError already; this keeps the intent explicit for length errors too).
template <class F>
void call_core(F&& f) {
  try {
    nogil(std::forward<F>(f));
  } catch (const std::length_error& e) {
    throw py::value_error(e.what());
  } catch (const std::bad_alloc&) {
    throw py::value_error("not enough memory for the requested sizes");
  }
}

std::size_t check_threads(int n_threads) {
  if (n_threads < 0) value_error("n_threads must be >= 1, or 0/None for all cores");
  return std::size_t(n_threads);
}

// ------------------------------------------------------------------ FFT

void fft_rows(py::array x, py::array out, bool inverse, double scale, int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(x);
  if (k != Kind::c64 && k != Kind::c128)
    type_error("x must be complex64 or complex128, got " + dtype_str(x));
  if (kind_of(out) != k) type_error("out must have the dtype of x (" + dtype_str(x) + ")");
  require_ndim(x, 2, "x");
  require_shape(out, {x.shape(0), x.shape(1)}, "out");
  require_c(x, "x");
  require_c(out, "out");
  require_writeable(out, "out");
  const std::size_t rows = std::size_t(x.shape(0)), n = std::size_t(x.shape(1));
  if (n == 0) value_error("n must be at least 1");
  if (rows == 0) return;
  if (k == Kind::c64) {
    auto* in = static_cast<const std::complex<float>*>(x.data());
    auto* o = static_cast<std::complex<float>*>(out.mutable_data());
    call_core([&] { rae::fft_rows<float>(in, n, o, n, n, rows, inverse, float(scale), n_threads); });
  } else {
    auto* in = static_cast<const std::complex<double>*>(x.data());
    auto* o = static_cast<std::complex<double>*>(out.mutable_data());
    call_core([&] { rae::fft_rows<double>(in, n, o, n, n, rows, inverse, scale, n_threads); });
  }
}

void rfft_rows(py::array x, py::array out, double scale, int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(x);
  if (k != Kind::f32 && k != Kind::f64)
    type_error("x must be float32 or float64, got " + dtype_str(x));
  Kind ko = kind_of(out);
  if ((k == Kind::f32 && ko != Kind::c64) || (k == Kind::f64 && ko != Kind::c128))
    type_error("out must be complex64 for float32 input and complex128 for float64 input");
  require_ndim(x, 2, "x");
  const std::size_t rows = std::size_t(x.shape(0)), n = std::size_t(x.shape(1));
  if (n == 0) value_error("n must be at least 1");
  require_shape(out, {x.shape(0), py::ssize_t(n / 2 + 1)}, "out");
  require_c(x, "x");
  require_c(out, "out");
  require_writeable(out, "out");
  if (rows == 0) return;
  const std::size_t nb = n / 2 + 1;
  if (k == Kind::f32) {
    auto* in = static_cast<const float*>(x.data());
    auto* o = static_cast<std::complex<float>*>(out.mutable_data());
    call_core([&] { rae::rfft_rows<float>(in, n, o, nb, n, rows, float(scale), n_threads); });
  } else {
    auto* in = static_cast<const double*>(x.data());
    auto* o = static_cast<std::complex<double>*>(out.mutable_data());
    call_core([&] { rae::rfft_rows<double>(in, n, o, nb, n, rows, scale, n_threads); });
  }
}

void irfft_rows(py::array x, py::array out, double scale, int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(x);
  if (k != Kind::c64 && k != Kind::c128)
    type_error("x must be complex64 or complex128, got " + dtype_str(x));
  Kind ko = kind_of(out);
  if ((k == Kind::c64 && ko != Kind::f32) || (k == Kind::c128 && ko != Kind::f64))
    type_error("out must be float32 for complex64 input and float64 for complex128 input");
  require_ndim(x, 2, "x");
  require_ndim(out, 2, "out");
  const std::size_t rows = std::size_t(out.shape(0)), n = std::size_t(out.shape(1));
  if (n == 0) value_error("n must be at least 1");
  require_shape(x, {out.shape(0), py::ssize_t(n / 2 + 1)}, "x");
  require_c(x, "x");
  require_c(out, "out");
  require_writeable(out, "out");
  if (rows == 0) return;
  const std::size_t nb = n / 2 + 1;
  if (k == Kind::c64) {
    auto* in = static_cast<const std::complex<float>*>(x.data());
    auto* o = static_cast<float*>(out.mutable_data());
    call_core([&] { rae::irfft_rows<float>(in, nb, o, n, n, rows, float(scale), n_threads); });
  } else {
    auto* in = static_cast<const std::complex<double>*>(x.data());
    auto* o = static_cast<double*>(out.mutable_data());
    call_core([&] { rae::irfft_rows<double>(in, nb, o, n, n, rows, scale, n_threads); });
  }
}

// ------------------------------------------------------------------ framewise transforms

rae::FrameMode parse_mode(const std::string& m) {
  if (m == "complex") return rae::FrameMode::complex;
  if (m == "magnitude") return rae::FrameMode::magnitude;
  if (m == "mel") return rae::FrameMode::mel;
  if (m == "autocorr") return rae::FrameMode::autocorr;
  if (m == "autocorr_direct") return rae::FrameMode::autocorr_direct;
  value_error("mode must be one of complex, magnitude, mel, autocorr, autocorr_direct");
}

rae::AcfNorm parse_acf_norm(const py::object& o) {
  if (o.is_none()) return rae::AcfNorm::none;
  std::string s = py::str(o);
  if (s == "lag0") return rae::AcfNorm::lag0;
  if (s == "unbiased") return rae::AcfNorm::unbiased;
  if (s == "none") return rae::AcfNorm::none;
  value_error("normalize must be 'lag0', 'unbiased' or None, got '" + s + "'");
}

template <class T>
void frames_t(py::array y, py::array out, std::size_t n_fft, std::size_t frame_len,
              std::size_t hop, std::size_t pad, rae::PadMode pad_mode, double pre_emphasis,
              bool detrend, const py::object& window, rae::FrameMode mode, double power,
              double scale, const py::object& basis, std::size_t max_lag, rae::AcfNorm acf_norm,
              int n_threads) {
  const std::size_t n_clips = std::size_t(y.shape(0)), len = std::size_t(y.shape(1));
  rae::FrameSpec<T> spec;
  spec.n_fft = n_fft;
  spec.frame_len = frame_len;
  spec.hop = hop;
  spec.pad = pad;
  spec.pad_mode = pad_mode;
  spec.pre_emphasis = T(pre_emphasis);
  spec.detrend = detrend;
  spec.mode = mode;
  spec.power_exp = T(power);
  spec.scale = T(scale);
  spec.max_lag = max_lag;
  spec.acf_norm = acf_norm;
  py::array_t<T, py::array::c_style> win_arr, basis_arr;
  if (!window.is_none()) {
    win_arr = py::array_t<T, py::array::c_style>::ensure(window);
    if (!win_arr) type_error("window must be an array of real numbers");
    if (win_arr.ndim() != 1 || std::size_t(win_arr.shape(0)) != frame_len)
      value_error("window must be 1-D with frame_length (" + std::to_string(frame_len) +
                  ") values");
    spec.window = win_arr.data();
  }
  if (mode == rae::FrameMode::mel) {
    if (basis.is_none()) value_error("mel mode needs a filterbank basis");
    basis_arr = py::array_t<T, py::array::c_style>::ensure(basis);
    if (!basis_arr) type_error("basis must be a real array");
    if (basis_arr.ndim() != 2 || std::size_t(basis_arr.shape(1)) != n_fft / 2 + 1)
      value_error("basis must have shape (n_mels, n_fft // 2 + 1) = (n_mels, " +
                  std::to_string(n_fft / 2 + 1) + ")");
    spec.basis = basis_arr.data();
    spec.n_bands = std::size_t(basis_arr.shape(0));
  }
  const std::size_t rows = rae::frame_rows(spec);
  const std::size_t nf = rae::frame_count(len, frame_len, hop, pad);
  require_shape(out, {py::ssize_t(n_clips), py::ssize_t(rows), py::ssize_t(nf)}, "out");
  if (nf == 0 || n_clips == 0) return;
  const T* yp = static_cast<const T*>(y.data());
  T* op = static_cast<T*>(out.mutable_data());
  call_core([&] {
    rae::frames_batch<T>(yp, n_clips, len, len, spec, op, rows * nf, n_threads);
  });
}

void frames(py::array y, py::array out, std::size_t n_fft, std::size_t frame_len,
            std::size_t hop, std::size_t pad, const std::string& pad_mode, double pre_emphasis,
            bool detrend, py::object window, const std::string& mode, double power, double scale,
            py::object basis, std::size_t max_lag, py::object normalize, int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(y);
  if (k != Kind::f32 && k != Kind::f64)
    type_error("y must be float32 or float64, got " + dtype_str(y));
  require_ndim(y, 2, "y");
  require_c(y, "y");
  require_c(out, "out");
  require_writeable(out, "out");
  const rae::FrameMode m = parse_mode(mode);
  Kind want = m == rae::FrameMode::complex ? (k == Kind::f32 ? Kind::c64 : Kind::c128) : k;
  if (kind_of(out) != want) type_error("out has the wrong dtype (" + dtype_str(out) + ")");
  if (n_fft == 0 || n_fft > rae::kMaxFftSize) value_error("n_fft out of range");
  if (frame_len == 0 || frame_len > n_fft) value_error("frame length must be in [1, n_fft]");
  if (hop == 0) value_error("hop_length must be positive");
  const rae::PadMode pm = rae::parse_pad_mode(pad_mode);
  const rae::AcfNorm an = parse_acf_norm(normalize);
  if (k == Kind::f32)
    frames_t<float>(y, out, n_fft, frame_len, hop, pad, pm, pre_emphasis, detrend, window, m,
                    power, scale, basis, max_lag, an, n_threads);
  else
    frames_t<double>(y, out, n_fft, frame_len, hop, pad, pm, pre_emphasis, detrend, window, m,
                     power, scale, basis, max_lag, an, n_threads);
}

// ------------------------------------------------------------------ windows, filterbanks

py::array_t<double> to_array_2d(std::vector<double>&& v, std::size_t rows, std::size_t cols) {
  py::array_t<double> a({py::ssize_t(rows), py::ssize_t(cols)});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::array_t<double> get_window(const std::string& name, std::size_t n, bool periodic) {
  rae::WindowKind kind = rae::parse_window(name);
  auto w = rae::make_window(kind, n, periodic);
  py::array_t<double> a(py::ssize_t(w.size()));
  std::copy(w.begin(), w.end(), a.mutable_data());
  return a;
}

py::array_t<double> mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels, double fmin,
                                   double fmax, bool htk, py::object norm) {
  rae::MelNorm mn = rae::MelNorm::none;
  double p = 0;
  if (!norm.is_none()) {
    if (py::isinstance<py::str>(norm)) {
      if (norm.cast<std::string>() != "slaney")
        value_error("norm must be None, 'slaney' or a number");
      mn = rae::MelNorm::slaney;
    } else {
      p = norm.cast<double>();
      mn = rae::MelNorm::pnorm;
    }
  }
  auto w = rae::mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, mn, p);
  return to_array_2d(std::move(w), n_mels, n_fft / 2 + 1);
}

py::array_t<double> audeep_mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels) {
  auto w = rae::audeep_mel_filterbank(sr, n_fft, n_mels);
  return to_array_2d(std::move(w), n_mels, n_fft / 2 + 1);
}

// ------------------------------------------------------------------ element-wise passes

bool all_finite(py::array x) {
  require_c(x, "x");
  const std::size_t n = std::size_t(x.size());
  switch (kind_of(x)) {
    case Kind::f32: {
      auto* p = static_cast<const float*>(x.data());
      return nogil([&] { return rae::all_finite<float>(p, n); });
    }
    case Kind::f64: {
      auto* p = static_cast<const double*>(x.data());
      return nogil([&] { return rae::all_finite<double>(p, n); });
    }
    case Kind::c64: {
      auto* p = static_cast<const float*>(x.data());
      return nogil([&] { return rae::all_finite<float>(p, 2 * n); });
    }
    case Kind::c128: {
      auto* p = static_cast<const double*>(x.data());
      return nogil([&] { return rae::all_finite<double>(p, 2 * n); });
    }
    default:
      type_error("x must be a floating-point array, got " + dtype_str(x));
  }
}

void power_to_db(py::array S, py::array out, double ref, double amin, py::object top_db,
                 int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(S);
  if (k != Kind::f32 && k != Kind::f64)
    type_error("S must be float32 or float64, got " + dtype_str(S));
  if (kind_of(out) != k) type_error("out must have the dtype of S");
  require_c(S, "S");
  require_c(out, "out");
  require_writeable(out, "out");
  if (out.size() != S.size()) value_error("out must have the shape of S");
  if (!(amin > 0)) value_error("amin must be strictly positive");
  double td = -1.0;
  if (!top_db.is_none()) {
    td = top_db.cast<double>();
    if (!(td >= 0)) value_error("top_db must be non-negative");
  }
  const std::size_t n = std::size_t(S.size());
  if (k == Kind::f32) {
    auto* i = static_cast<const float*>(S.data());
    auto* o = static_cast<float*>(out.mutable_data());
    call_core([&] { rae::power_to_db<float>(i, o, n, ref, amin, td, n_threads); });
  } else {
    auto* i = static_cast<const double*>(S.data());
    auto* o = static_cast<double*>(out.mutable_data());
    call_core([&] { rae::power_to_db<double>(i, o, n, ref, amin, td, n_threads); });
  }
}

void audeep_post(py::array S, py::object clip_below, py::object clip_above, bool db,
                 bool mean_norm, int n_threads) {
  check_threads(n_threads);
  Kind k = kind_of(S);
  if (k != Kind::f32 && k != Kind::f64)
    type_error("S must be float32 or float64, got " + dtype_str(S));
  require_c(S, "S");
  require_writeable(S, "S");
  if (S.ndim() < 2) value_error("S must have a leading batch axis");
  const std::size_t n = std::size_t(S.shape(0));
  const std::size_t size = n ? std::size_t(S.size()) / n : 0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double cb = clip_below.is_none() ? nan : clip_below.cast<double>();
  const double ca = clip_above.is_none() ? nan : clip_above.cast<double>();
  if (k == Kind::f32) {
    auto* p = static_cast<float*>(S.mutable_data());
    call_core([&] {
      if (db) rae::audeep_db<float>(p, n, size, size, cb, ca, n_threads);
      if (mean_norm) rae::audeep_normalize<float>(p, n, size, size, n_threads);
    });
  } else {
    auto* p = static_cast<double*>(S.mutable_data());
    call_core([&] {
      if (db) rae::audeep_db<double>(p, n, size, size, cb, ca, n_threads);
      if (mean_norm) rae::audeep_normalize<double>(p, n, size, size, n_threads);
    });
  }
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rae_fast C++ core (FFT, STFT, mel, autocorrelation). Use the rae_fast package API.";

  m.def("simd_level", &rae::simd_level, "Name of the SIMD kernels in use.");
  m.def("simd_levels", &rae::simd_levels_available,
        "SIMD levels compiled in and supported by this CPU.");
  m.def("simd_lanes", [](const std::string& t) {
    if (t == "float32") return rae::simd_lanes_float();
    if (t == "float64") return rae::simd_lanes_double();
    value_error("dtype must be 'float32' or 'float64'");
  });
  m.def("hardware_threads", &rae::hardware_threads);

  m.def("fft_rows", &fft_rows, py::arg("x"), py::arg("out"), py::arg("inverse"),
        py::arg("scale"), py::arg("n_threads"));
  m.def("rfft_rows", &rfft_rows, py::arg("x"), py::arg("out"), py::arg("scale"),
        py::arg("n_threads"));
  m.def("irfft_rows", &irfft_rows, py::arg("x"), py::arg("out"), py::arg("scale"),
        py::arg("n_threads"));
  m.def("frames", &frames, py::arg("y"), py::arg("out"), py::arg("n_fft"), py::arg("frame_len"),
        py::arg("hop"), py::arg("pad"), py::arg("pad_mode"), py::arg("pre_emphasis"),
        py::arg("detrend"), py::arg("window"), py::arg("mode"), py::arg("power"),
        py::arg("scale"), py::arg("basis"), py::arg("max_lag"), py::arg("normalize"),
        py::arg("n_threads"));
  m.def("frame_count", &rae::frame_count, py::arg("length"), py::arg("frame_len"),
        py::arg("hop"), py::arg("pad"));
  m.def("autocorr_fft_size", &rae::autocorr_fft_size, py::arg("frame_len"), py::arg("max_lag"));
  m.def("autocorr_prefer_direct", [](std::size_t frame_len, std::size_t max_lag) {
    return rae::autocorr_prefer_direct(frame_len, max_lag,
                                       rae::autocorr_fft_size(frame_len, max_lag));
  });
  m.def("get_window", &get_window, py::arg("name"), py::arg("n"), py::arg("periodic"));
  m.def("mel_filterbank", &mel_filterbank, py::arg("sr"), py::arg("n_fft"), py::arg("n_mels"),
        py::arg("fmin"), py::arg("fmax"), py::arg("htk"), py::arg("norm"));
  m.def("audeep_mel_filterbank", &audeep_mel_filterbank, py::arg("sr"), py::arg("n_fft"),
        py::arg("n_mels"));
  m.def("hz_to_mel", &rae::hz_to_mel, py::arg("hz"), py::arg("htk"));
  m.def("mel_to_hz", &rae::mel_to_hz, py::arg("mel"), py::arg("htk"));
  m.def("all_finite", &all_finite, py::arg("x"));
  m.def("power_to_db", &power_to_db, py::arg("S"), py::arg("out"), py::arg("ref"),
        py::arg("amin"), py::arg("top_db"), py::arg("n_threads"));
  m.def("audeep_post", &audeep_post, py::arg("S"), py::arg("clip_below"), py::arg("clip_above"),
        py::arg("db"), py::arg("mean_norm"), py::arg("n_threads"));
  m.def("pad_index", [](long i, long len, const std::string& mode) {
    if (len <= 0) value_error("len must be positive");
    return rae::pad_index(i, len, rae::parse_pad_mode(mode));
  });
}
