// From the repository root: g++ -O3 -fopenmp bench/results/cpu-pool/2026-12-05/relayout-bench.cpp native/compute/relayout16.cpp -o rb && ./rb
// (64-byte-aligned buffers, as the pool gives): toBlocked16 / fromBlocked16 (with and without the mask) against a copy.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include "../../../../native/compute/relayout16.hpp"
using namespace wgnas::compute;
struct V { float* p; float* data() { return p; } float& operator[](size_t i) { return p[i]; } };
int main() {
  int shapes[3][3] = {{16, 32, 32}, {32, 16, 16}, {64, 8, 8}};
  for (auto& s : shapes) {
    int64_t N = 64, C = s[0], HW = s[1] * s[2];
    size_t n = N * C * HW;
    std::vector<float> a(n); V b{(float*)aligned_alloc(64, n * 4)}, m{(float*)aligned_alloc(64, n * 4)}; float* cp_ = (float*)aligned_alloc(64, n * 4); V c{cp_};
    for (size_t i = 0; i < n; i++) { a[i] = (i % 7) - 3.0f; m[i] = (i % 5) - 2.0f; }
    auto t = [&](auto f) { std::vector<double> ts; for (int r = 0; r < 30; r++) { auto t0 = std::chrono::steady_clock::now(); f(); ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()); } std::sort(ts.begin(), ts.end()); return ts[ts.size()/2]; };
    double to = t([&] { toBlocked16(1, a.data(), b.data(), N, C, HW, true); });
    double fr = t([&] { fromBlocked16(1, b.data(), c.data(), nullptr, N, C, HW); });
    double frm = t([&] { fromBlocked16(1, b.data(), c.data(), m.data(), N, C, HW); });
    double cp = t([&] { std::copy(a.begin(), a.end(), cp_); });
    printf("C%ld HW%ld (%.1f MB): to %.3f from %.3f fromMask %.3f copy %.3f ms\n", C, HW, n * 4 / 1e6, to, fr, frm, cp);
  }
}
