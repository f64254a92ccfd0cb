// Kernels compiled for the baseline instruction-set level (see kernels_impl.hpp and cmake/RaeSimd.cmake).
#define RAE_KNS baseline
#define RAE_VBYTES 16
#include "kernels_impl.hpp"

namespace rae {
namespace kern {
const KernelTable<float>* kernels_baseline_f() { return &baseline::table_f; }
const KernelTable<double>* kernels_baseline_d() { return &baseline::table_d; }
}  // namespace kern
}  // namespace rae
