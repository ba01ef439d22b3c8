// Four doubles as one SIMD value (GCC/Clang vector extension), loaded and stored unaligned.
// Internal to the kernel's .cpp files.
#pragma once

namespace mtp {
namespace simd {

typedef double v4 __attribute__((vector_size(32), aligned(8)));
inline v4 load4(const double* p) { return *reinterpret_cast<const v4*>(p); }
inline void store4(double* p, v4 v) { *reinterpret_cast<v4*>(p) = v; }
inline double hsum(v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

}  // namespace simd
}  // namespace mtp
