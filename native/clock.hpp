// CLOCK_MONOTONIC in nanoseconds: steady, unaffected by wall-clock changes.
#pragma once
#include <time.h>

#include <cstdint>

namespace wgnas {

inline uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace wgnas
