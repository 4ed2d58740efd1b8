// Runtime ISA dispatch for the hand-written loops: on x86-64 with GCC/Clang, WGNAS_CLONES compiles
// a function for AVX-512, AVX2 and the baseline, and the loader picks one for the CPU it runs on
// (ifunc), so the build stays portable without -march. Apply it to whole-array functions only
// (a clone is called through a pointer and not inlined).
#pragma once
#include <cstddef>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(WGNAS_NO_CLONES)
#define WGNAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WGNAS_CLONES
#endif

namespace wgnas::compute {

// Block of float accumulation inside double sums: short enough that f32 partial sums stay exact
// to ~1e-7 relative, long enough to vectorise.
constexpr size_t kSumBlock = 256;

// Σ p[i] in double (f32 partials over short blocks). Defined with WGNAS_CLONES in simd.cpp (the
// declarations stay plain: other files call the dispatching symbol).
double sumF(const float* p, size_t n);
// Σ (p[i] - m)^2.
double sumSqDevF(const float* p, size_t n, float m);
// Σ (p[i] - m)^2 and Σ p[i]^2 in one pass.
void sumSqDevAndSqF(const float* p, size_t n, float m, double* dev, double* sq);
// Σ a[i] * b[i].
double dotF(const float* a, const float* b, size_t n);
// Σ a[i] * (b[i] - m).
double dotDevF(const float* a, const float* b, size_t n, float m);
// Σ p[i]^2.
double sumSqF(const float* p, size_t n);
// Σ |a[i] * b[i]|.
double sumAbsProdF(const float* a, const float* b, size_t n);

}  // namespace wgnas::compute
