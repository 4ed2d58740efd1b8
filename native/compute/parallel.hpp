// OpenMP helpers for the hand-written ops. Small work runs serially on the calling (worker) thread:
// waking the team costs microseconds, more than a few thousand elements of element-wise math.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <vector>

namespace wgnas::compute {

// Elements of streaming work per thread below which a loop stays serial.
constexpr size_t kSerialElems = 1 << 15;

// Calls f(begin, end) on contiguous chunks of [0, n), at most `threads` in parallel, each chunk at
// least `grain` items. Chunks are fixed by (n, threads), so results do not depend on scheduling.
template <class F>
void parallelRange(int threads, size_t n, size_t grain, F&& f) {
  if (n == 0) return;
  size_t maxChunks = std::max<size_t>(1, n / std::max<size_t>(grain, 1));
  int t = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), maxChunks));
  if (t <= 1) {
    f(size_t{0}, n);
    return;
  }
  // An exception must not leave an OpenMP region: keep the first, rethrow after the join.
  std::exception_ptr err;
#pragma omp parallel num_threads(t)
  {
    int id = omp_get_thread_num();
    int nt = omp_get_num_threads();
    size_t b = n * id / nt, e = n * (id + 1) / nt;
    try {
      if (b < e) f(b, e);
    } catch (...) {
#pragma omp critical(wgnas_parallel_error)
      if (!err) err = std::current_exception();
    }
  }
  if (err) std::rethrow_exception(err);
}

// Σ over [0, n) of part(b, e): at most `threads` fixed chunks, partials added in chunk order, so
// the result does not depend on scheduling.
template <class Part>
double reduceAll(int threads, size_t n, Part&& part) {
  size_t chunks = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), std::max<size_t>(1, n / kSerialElems));
  std::vector<double> partial(chunks, 0.0);
  parallelRange(static_cast<int>(chunks), chunks, 1, [&](size_t lo, size_t hi) {
    for (size_t k = lo; k < hi; k++) partial[k] = part(n * k / chunks, n * (k + 1) / chunks);
  });
  double s = 0;
  for (double v : partial) s += v;
  return s;
}

// Element-wise loops: chunks of at least kSerialElems elements.
template <class F>
void parallelElems(int threads, size_t n, F&& f) {
  parallelRange(threads, n, kSerialElems, std::forward<F>(f));
}

}  // namespace wgnas::compute
