// Runtime choice of the SIMD kernels.
//
// The best level that both this build and the running CPU support is chosen once, at first use.
// The environment variable RAE_FAST_SIMD=baseline|avx2|avx512 lowers (never raises) the choice,
// so that tests can cover the baseline kernels on any machine.
#pragma once

#include <string>
#include <vector>

namespace rae {

// Name of the level in use: "baseline", "avx2" or "avx512".
std::string simd_level();

// Levels compiled into this build that the running CPU supports, lowest first.
std::vector<std::string> simd_levels_available();

// Whether the running CPU and operating system support the instructions of a level ("baseline",
// "avx2": AVX2 + FMA, "avx512": AVX-512 F/DQ/BW/VL), whether or not this build has its kernels.
bool simd_cpu_supports(const std::string& level);

// Number of float / double lanes the active kernels process together.
int simd_lanes_float();
int simd_lanes_double();

}  // namespace rae
