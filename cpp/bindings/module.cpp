// pybind11 module rae_fast._core: adapts numpy arrays to the C++ core.
//
// Thin by design. The Python package validates parameters and names them for users; this layer
// keeps only what memory safety needs, so that calling _core directly with bad arguments raises
// instead of crashing: dtypes (TypeError), dimensions, shapes, contiguity and writeability of
// arrays (ValueError). Parameter ranges are checked by the core itself (std::invalid_argument ->
// ValueError) before any work. Every kernel runs with the GIL released.
//
// The dtype branch lives in one place, dispatch(): the wrappers are written once as generic
// lambdas over the element type.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <new>
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

namespace py = pybind11;

namespace {

// ------------------------------------------------------------------ dtype dispatch

template <class T>
struct Tag {
  using type = T;
};

template <class T>
bool has_dtype(const py::array& a) {
  return a.dtype().is(py::dtype::of<T>());
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

[[noreturn]] void type_error(const std::string& msg) { throw py::type_error(msg); }
[[noreturn]] void value_error(const std::string& msg) { throw py::value_error(msg); }

// f(Tag<float>{}) for float32 arrays, f(Tag<double>{}) for float64 ones; with complex = true the
// same for complex64 / complex128 arrays (the tag is the real type). TypeError otherwise.
template <class F>
decltype(auto) dispatch(const py::array& a, const char* name, bool complex, F&& f) {
  if (complex ? has_dtype<std::complex<float>>(a) : has_dtype<float>(a)) return f(Tag<float>{});
  if (complex ? has_dtype<std::complex<double>>(a) : has_dtype<double>(a))
    return f(Tag<double>{});
  type_error(std::string(name) + (complex ? " must be complex64 or complex128, got "
                                          : " must be float32 or float64, got ") +
             dtype_str(a));
}

// ------------------------------------------------------------------ array checks

std::string shape_str(const py::ssize_t* s, std::size_t n) {
  std::string r = "(";
  for (std::size_t i = 0; i < n; ++i) r += std::to_string(s[i]) + (i + 1 < n ? ", " : "");
  return r + (n == 1 ? ",)" : ")");
}

// Checks that `a` holds elements of type E, is C-contiguous, has ndim dimensions and, where
// `shape` is given, exactly that shape. Returns a pointer to its data.
template <class E>
const E* checked(const py::array& a, const char* name, py::ssize_t ndim,
                 std::initializer_list<py::ssize_t> shape = {}) {
  if (!has_dtype<E>(a))
    type_error(std::string(name) + " must have dtype " + py::str(py::dtype::of<E>()).cast<std::string>() +
               ", got " + dtype_str(a));
  if (a.ndim() != ndim)
    value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got " +
                std::to_string(a.ndim()) + "-D");
  if (shape.size() && !std::equal(shape.begin(), shape.end(), a.shape()))
    value_error(std::string(name) + " must have shape " + shape_str(shape.begin(), shape.size()) +
                ", got " + shape_str(a.shape(), std::size_t(a.ndim())));
  if (!(a.flags() & py::array::c_style)) value_error(std::string(name) + " must be C-contiguous");
  return static_cast<const E*>(a.data());
}

// The same for an output array, which must also be writeable.
template <class E>
E* checked_out(py::array& a, const char* name, py::ssize_t ndim,
               std::initializer_list<py::ssize_t> shape = {}) {
  checked<E>(a, name, ndim, shape);
  if (!a.writeable()) value_error(std::string(name) + " must be writeable");
  return static_cast<E*>(a.mutable_data());
}

// A size_t as a numpy dimension (sizes beyond ssize_t can never match an array's shape).
py::ssize_t dim(std::size_t n) {
  return n > std::size_t(std::numeric_limits<py::ssize_t>::max()) ? -1 : py::ssize_t(n);
}

// Runs f without the GIL. Exceptions from the core keep pybind11's translation
// (std::invalid_argument / std::length_error -> ValueError); memory exhaustion becomes a
// MemoryError with a message that says what happened.
template <class F>
auto call_core(F&& f) {
  try {
    py::gil_scoped_release release;
    return f();
  } catch (const std::bad_alloc&) {
    PyErr_SetString(PyExc_MemoryError, "not enough memory for the requested sizes");
    throw py::error_already_set();
  }
}

// ------------------------------------------------------------------ FFT

// fft_rows and rfft_rows return False when a zero-frequency bin is not finite: always so for a
// NaN or infinite input (see rae/fft.hpp), so callers check the input only then.
bool fft_rows(const py::array& x, py::array out, bool inverse, double scale, int n_threads) {
  return dispatch(x, "x", true, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = std::complex<T>;
    const C* in = checked<C>(x, "x", 2);
    const std::size_t rows = std::size_t(x.shape(0)), n = std::size_t(x.shape(1));
    C* o = checked_out<C>(out, "out", 2, {x.shape(0), x.shape(1)});
    if (rows == 0) return true;
    return call_core(
        [&] { return rae::fft_rows<T>(in, n, o, n, n, rows, inverse, T(scale), n_threads); });
  });
}

bool rfft_rows(const py::array& x, py::array out, double scale, int n_threads) {
  return dispatch(x, "x", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = checked<T>(x, "x", 2);
    const std::size_t rows = std::size_t(x.shape(0)), n = std::size_t(x.shape(1));
    const std::size_t nb = n / 2 + 1;
    auto* o = checked_out<std::complex<T>>(out, "out", 2, {x.shape(0), dim(nb)});
    if (rows == 0) return true;
    return call_core([&] { return rae::rfft_rows<T>(in, n, o, nb, n, rows, T(scale), n_threads); });
  });
}

void irfft_rows(const py::array& x, py::array out, double scale, int n_threads) {
  dispatch(x, "x", true, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = checked_out<T>(out, "out", 2);
    const std::size_t rows = std::size_t(out.shape(0)), n = std::size_t(out.shape(1));
    const std::size_t nb = n / 2 + 1;
    const auto* in = checked<std::complex<T>>(x, "x", 2, {out.shape(0), dim(nb)});
    if (rows == 0) return;
    call_core([&] { rae::irfft_rows<T>(in, nb, o, n, n, rows, T(scale), n_threads); });
  });
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
  const std::string s = py::str(o);
  if (s == "lag0") return rae::AcfNorm::lag0;
  if (s == "unbiased") return rae::AcfNorm::unbiased;
  if (s == "none") return rae::AcfNorm::none;
  value_error("normalize must be 'lag0', 'unbiased' or None, got '" + s + "'");
}

// y: (n_clips, length) float32/float64; out: (n_clips, rows, n_frames) of y's dtype, complex
// for mode "complex". window: None or frame_len values; basis (mode "mel"): (n_bands,
// n_fft // 2 + 1). Arrays given for window / basis are converted to y's dtype.
void frames(const py::array& y, py::array out, std::size_t n_fft, std::size_t frame_len,
            std::size_t hop, std::size_t pad, const std::string& pad_mode, double pre_emphasis,
            bool detrend, const py::object& window, const std::string& mode, double power,
            double scale, const py::object& basis, std::size_t max_lag,
            const py::object& normalize, int n_threads) {
  const rae::FrameMode m = parse_mode(mode);
  const rae::PadMode pm = rae::parse_pad_mode(pad_mode);
  const rae::AcfNorm an = parse_acf_norm(normalize);
  dispatch(y, "y", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
    const T* yp = checked<T>(y, "y", 2);
    const std::size_t n_clips = std::size_t(y.shape(0)), len = std::size_t(y.shape(1));
    rae::FrameSpec<T> spec;
    spec.n_fft = n_fft;
    spec.frame_len = frame_len;
    spec.hop = hop;
    spec.pad = pad;
    spec.pad_mode = pm;
    spec.pre_emphasis = T(pre_emphasis);
    spec.detrend = detrend;
    spec.mode = m;
    spec.power_exp = T(power);
    spec.scale = T(scale);
    spec.max_lag = max_lag;
    spec.acf_norm = an;
    Arr win_arr, basis_arr;  // keep converted copies alive during the call
    if (!window.is_none()) {
      win_arr = Arr::ensure(window);
      if (!win_arr) type_error("window must be an array of real numbers");
      if (win_arr.ndim() != 1 || std::size_t(win_arr.shape(0)) != frame_len)
        value_error("window must be 1-D with frame_length (" + std::to_string(frame_len) +
                    ") values");
      spec.window = win_arr.data();
    }
    if (m == rae::FrameMode::mel) {
      if (basis.is_none()) value_error("mel mode needs a filterbank basis");
      basis_arr = Arr::ensure(basis);
      if (!basis_arr) type_error("basis must be a real array");
      if (basis_arr.ndim() != 2 || std::size_t(basis_arr.shape(1)) != n_fft / 2 + 1)
        value_error("basis must have shape (n_mels, n_fft // 2 + 1) = (n_mels, " +
                    std::to_string(n_fft / 2 + 1) + ")");
      spec.basis = basis_arr.data();
      spec.n_bands = std::size_t(basis_arr.shape(0));
    }
    rae::frames_check(len, spec);  // parameter ranges, before the output shape is derived
    const std::size_t rows = rae::frame_rows(spec);
    const std::size_t nf = rae::frame_count(len, frame_len, hop, pad);
    const std::initializer_list<py::ssize_t> shape = {y.shape(0), dim(rows), dim(nf)};
    T* op = m == rae::FrameMode::complex
                ? reinterpret_cast<T*>(checked_out<std::complex<T>>(out, "out", 3, shape))
                : checked_out<T>(out, "out", 3, shape);
    call_core([&] {
      rae::frames_batch<T>(yp, n_clips, len, len, spec, op, rows * nf, n_threads);
    });
  });
}

// ------------------------------------------------------------------ windows, filterbanks

py::array_t<double> to_array(const std::vector<double>& v, std::vector<py::ssize_t> shape) {
  py::array_t<double> a(shape);
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::array_t<double> get_window(const std::string& name, std::size_t n, bool periodic) {
  const rae::WindowKind kind = rae::parse_window(name);
  auto w = call_core([&] { return rae::make_window(kind, n, periodic); });
  return to_array(w, {dim(w.size())});
}

py::array_t<double> mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels, double fmin,
                                   double fmax, bool htk, const py::object& norm) {
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
  auto w = call_core([&] { return rae::mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, mn, p); });
  return to_array(w, {dim(n_mels), dim(n_fft / 2 + 1)});
}

py::array_t<double> audeep_mel_filterbank(double sr, std::size_t n_fft, std::size_t n_mels) {
  auto w = call_core([&] { return rae::audeep_mel_filterbank(sr, n_fft, n_mels); });
  return to_array(w, {dim(n_mels), dim(n_fft / 2 + 1)});
}

// ------------------------------------------------------------------ element-wise passes

bool all_finite(const py::array& x) {
  const bool complex = has_dtype<std::complex<float>>(x) || has_dtype<std::complex<double>>(x);
  return dispatch(x, "x", complex, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (!(x.flags() & py::array::c_style)) value_error("x must be C-contiguous");
    const T* p = static_cast<const T*>(x.data());
    const std::size_t n = std::size_t(x.size()) * (complex ? 2 : 1);
    return call_core([&] { return rae::all_finite<T>(p, n); });
  });
}

void power_to_db(const py::array& S, py::array out, double ref, double amin,
                 const py::object& top_db, int n_threads) {
  const double td = top_db.is_none() ? -1.0 : top_db.cast<double>();  // < 0: no floor
  dispatch(S, "S", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<py::ssize_t> shape(S.shape(), S.shape() + S.ndim());
    const T* in = checked<T>(S, "S", S.ndim());
    T* o = checked_out<T>(out, "out", S.ndim());
    if (!std::equal(shape.begin(), shape.end(), out.shape()))
      value_error("out must have the shape of S");
    const std::size_t n = std::size_t(S.size());
    call_core([&] { rae::power_to_db<T>(in, o, n, ref, amin, td, n_threads); });
  });
}

// In place on S (n_specs, ...): auDeep's dB conversion (db) and/or mean normalisation
// (mean_norm), one spectrogram per leading index.
void audeep_post(py::array S, const py::object& clip_below, const py::object& clip_above,
                 bool db, bool mean_norm, int n_threads) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double cb = clip_below.is_none() ? nan : clip_below.cast<double>();
  const double ca = clip_above.is_none() ? nan : clip_above.cast<double>();
  dispatch(S, "S", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (S.ndim() < 2) value_error("S must have a leading batch axis");
    T* p = checked_out<T>(S, "S", S.ndim());
    const std::size_t n = std::size_t(S.shape(0));
    const std::size_t size = n ? std::size_t(S.size()) / n : 0;
    call_core([&] {
      if (db) rae::audeep_db<T>(p, n, size, size, cb, ca, n_threads);
      if (mean_norm) rae::audeep_normalize<T>(p, n, size, size, n_threads);
    });
  });
}


// ------------------------------------------------------------------ inverse transforms

// A window for the inverse transforms: None (rectangular) or n_fft values, converted to T.
template <class T>
py::array_t<T, py::array::c_style | py::array::forcecast> inverse_window(const py::object& window,
                                                                       std::size_t n_fft) {
  using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
  if (window.is_none()) return Arr(0);
  Arr w = Arr::ensure(window);
  if (!w) type_error("window must be an array of real numbers");
  if (w.ndim() != 1 || std::size_t(w.shape(0)) != n_fft)
    value_error("window must be 1-D with n_fft (" + std::to_string(n_fft) + ") values");
  return w;
}

// Spectrograms for the inverse transforms have n_fft // 2 + 1 rows (frequency bins).
void check_bins(const py::array& S, std::size_t n_fft) {
  if (std::size_t(S.shape(1)) != n_fft / 2 + 1)
    value_error("S must have n_fft // 2 + 1 = " + std::to_string(n_fft / 2 + 1) +
                " rows, got " + std::to_string(S.shape(1)));
}

// The overlap-add settings of istft and griffinlim; `w` (from inverse_window) must outlive it.
template <class T, class W>
rae::IstftSpec<T> inverse_spec(std::size_t n_fft, std::size_t hop, const py::object& window,
                               bool center, const W& w) {
  rae::IstftSpec<T> spec;
  spec.n_fft = n_fft;
  spec.hop = hop;
  spec.window = window.is_none() ? nullptr : w.data();
  spec.center = center;
  return spec;
}

// S: (n_clips, n_fft // 2 + 1, n_frames) complex; out: (n_clips, length) of the real dtype.
void istft(const py::array& S, py::array out, std::size_t n_fft, std::size_t hop,
           const py::object& window, bool center, int n_threads) {
  dispatch(S, "S", true, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = std::complex<T>;
    const C* sp = checked<C>(S, "S", 3);
    check_bins(S, n_fft);
    T* op = checked_out<T>(out, "out", 2);
    if (out.shape(0) != S.shape(0)) value_error("out must have one row per spectrogram of S");
    auto w = inverse_window<T>(window, n_fft);
    const rae::IstftSpec<T> spec = inverse_spec<T>(n_fft, hop, window, center, w);
    const std::size_t n_frames = std::size_t(S.shape(2)), length = std::size_t(out.shape(1));
    rae::istft_check(n_frames, length, spec);
    const std::size_t n_clips = std::size_t(S.shape(0));
    call_core([&] {
      rae::istft_batch<T>(sp, n_clips, n_frames, std::size_t(S.shape(1)) * n_frames, spec, op,
                          length, length, n_threads);
    });
  });
}

// mag: (n_clips, n_fft // 2 + 1, n_frames) real; init: None or complex of the same shape.
void griffinlim(const py::array& mag, const py::object& init, py::array out, std::size_t n_fft,
                std::size_t hop, const py::object& window, bool center,
                const std::string& pad_mode, std::size_t n_iter, double momentum,
                int n_threads) {
  const rae::PadMode pm = rae::parse_pad_mode(pad_mode);
  dispatch(mag, "S", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = std::complex<T>;
    const T* mp = checked<T>(mag, "S", 3);
    check_bins(mag, n_fft);
    const C* ip = nullptr;
    py::array init_arr;
    if (!init.is_none()) {
      init_arr = py::reinterpret_borrow<py::array>(init);
      ip = checked<C>(init_arr, "init", 3, {mag.shape(0), mag.shape(1), mag.shape(2)});
    }
    T* op = checked_out<T>(out, "out", 2);
    if (out.shape(0) != mag.shape(0)) value_error("out must have one row per spectrogram of S");
    auto w = inverse_window<T>(window, n_fft);
    rae::IstftSpec<T> spec = inverse_spec<T>(n_fft, hop, window, center, w);
    spec.pad_mode = pm;
    const std::size_t n_frames = std::size_t(mag.shape(2)), length = std::size_t(out.shape(1));
    rae::istft_check(n_frames, length, spec);
    const std::size_t n_clips = std::size_t(mag.shape(0));
    call_core([&] {
      rae::griffinlim_batch<T>(mp, n_clips, n_frames, std::size_t(mag.shape(1)) * n_frames, ip,
                               spec, n_iter, momentum, op, length, length, n_threads);
    });
  });
}

// A: (n_bands, n_bins) float64; B: (n_clips, n_bands, n_frames); X: (n_clips, n_bins, n_frames).
void nnls_filterbank(const py::array& A, const py::array& B, py::array X, std::size_t max_iter,
                     double tol, int n_threads) {
  const double* ap = checked<double>(A, "basis", 2);
  dispatch(B, "M", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* bp = checked<T>(B, "M", 3);
    if (B.shape(1) != A.shape(0))
      value_error("M must have one row per band of the basis (" + std::to_string(A.shape(0)) +
                  "), got " + std::to_string(B.shape(1)));
    T* xp = checked_out<T>(X, "out", 3, {B.shape(0), A.shape(1), B.shape(2)});
    const std::size_t nbands = std::size_t(A.shape(0)), nbins = std::size_t(A.shape(1));
    const std::size_t n_clips = std::size_t(B.shape(0)), n_frames = std::size_t(B.shape(2));
    call_core([&] {
      rae::nnls_filterbank<T>(ap, nbands, nbins, bp, n_clips, n_frames, nbands * n_frames, xp,
                              nbins * n_frames, max_iter, tol, n_threads);
    });
  });
}

// R: (n_clips, n_lags, n_frames); out: (n_clips, n_fft // 2 + 1, n_frames).
void acf_to_power(const py::array& R, py::array out, std::size_t n_fft,
                  const py::object& lag_weights, bool clip_negative, int n_threads) {
  dispatch(R, "acf", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
    const T* rp = checked<T>(R, "acf", 3);
    if (n_fft == 0 || n_fft > rae::kMaxFftSize)
      value_error("n_fft = " + std::to_string(n_fft) + " is outside the supported range [1, 2^27]");
    T* op = checked_out<T>(out, "out", 3, {R.shape(0), dim(n_fft / 2 + 1), R.shape(2)});
    Arr w;
    if (!lag_weights.is_none()) {
      w = Arr::ensure(lag_weights);
      if (!w) type_error("lag_window must be an array of real numbers");
      if (w.ndim() != 1 || w.shape(0) != R.shape(1))
        value_error("lag_window must be 1-D with one value per lag (" +
                    std::to_string(R.shape(1)) + ")");
    }
    const std::size_t n_clips = std::size_t(R.shape(0)), n_lags = std::size_t(R.shape(1));
    const std::size_t n_frames = std::size_t(R.shape(2));
    call_core([&] {
      rae::acf_to_power<T>(rp, n_clips, n_lags, n_frames, n_lags * n_frames,
                           lag_weights.is_none() ? nullptr : w.data(), n_fft, op, (n_fft / 2 + 1) * n_frames,
                           clip_negative, n_threads);
    });
  });
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
  m.def(
      "rfft_scratch_bytes",
      [](std::size_t n, std::size_t n_rows, const std::string& dtype, int n_threads, bool inverse) {
        if (dtype == "float32") return rae::rfft_scratch_bytes<float>(n, n_rows, n_threads, inverse);
        if (dtype == "float64") return rae::rfft_scratch_bytes<double>(n, n_rows, n_threads, inverse);
        value_error("dtype must be 'float32' or 'float64'");
      },
      py::arg("n"), py::arg("n_rows"), py::arg("dtype"), py::arg("n_threads"),
      py::arg("inverse") = false,
      "Bytes of scratch memory, over all threads, that rfft_rows (irfft_rows with inverse=True) "
      "allocates for n_rows rows of size n.");
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
  m.def("istft", &istft, py::arg("S"), py::arg("out"), py::arg("n_fft"), py::arg("hop"),
        py::arg("window"), py::arg("center"), py::arg("n_threads"));
  m.def("griffinlim", &griffinlim, py::arg("S"), py::arg("init"), py::arg("out"),
        py::arg("n_fft"), py::arg("hop"), py::arg("window"), py::arg("center"),
        py::arg("pad_mode"), py::arg("n_iter"), py::arg("momentum"), py::arg("n_threads"));
  m.def("istft_length", &rae::istft_length, py::arg("n_frames"), py::arg("n_fft"),
        py::arg("hop"), py::arg("center"));
  m.def("istft_frames_used", &rae::istft_frames_used, py::arg("n_frames"), py::arg("length"),
        py::arg("n_fft"), py::arg("hop"), py::arg("center"));
  m.def("nnls_filterbank", &nnls_filterbank, py::arg("basis"), py::arg("M"), py::arg("out"),
        py::arg("max_iter"), py::arg("tol"), py::arg("n_threads"));
  m.def("acf_to_power", &acf_to_power, py::arg("acf"), py::arg("out"), py::arg("n_fft"),
        py::arg("lag_window"), py::arg("clip_negative"), py::arg("n_threads"));
  m.def("pad_index", [](std::int64_t i, std::int64_t len, const std::string& mode) {
    return rae::pad_index(i, len, rae::parse_pad_mode(mode));
  });
}
