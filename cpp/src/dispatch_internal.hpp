// Access to the active kernel table (internal).
#pragma once

#include "kernels/kernels.hpp"

namespace rae {

template <class T>
const kern::KernelTable<T>& kernels();

template <>
const kern::KernelTable<float>& kernels<float>();
template <>
const kern::KernelTable<double>& kernels<double>();

// The baseline tables (used to build plans in double precision, independent of dispatch).
const kern::KernelTable<double>& baseline_kernels_d();

}  // namespace rae
