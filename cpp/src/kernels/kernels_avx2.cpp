// Kernels compiled for the avx2 instruction-set level (see kernels_impl.hpp and cmake/RaeSimd.cmake).
#define RAE_KNS avx2
#define RAE_VBYTES 32
#include "kernels_impl.hpp"

namespace rae {
namespace kern {
const KernelTable<float>* kernels_avx2_f() { return &avx2::table_f; }
const KernelTable<double>* kernels_avx2_d() { return &avx2::table_d; }
}  // namespace kern
}  // namespace rae
