// Kernels compiled for the avx512 instruction-set level (see kernels_impl.hpp and cmake/RaeSimd.cmake).
#define RAE_KNS avx512
#define RAE_VBYTES 64
#include "kernels_impl.hpp"

namespace rae {
namespace kern {
const KernelTable<float>* kernels_avx512_f() { return &avx512::table_f; }
const KernelTable<double>* kernels_avx512_d() { return &avx512::table_d; }
}  // namespace kern
}  // namespace rae
