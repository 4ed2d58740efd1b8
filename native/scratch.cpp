// Helpers shared by the backends: deterministic weight/input fill and cache flushing.
#include <cstdint>

#include "backend.hpp"

namespace wgnas {

void touchBuffer(std::vector<unsigned char>& buf) {
  volatile unsigned char* p = buf.data();
  for (size_t i = 0; i < buf.size(); i += 64) p[i] = static_cast<unsigned char>(p[i] + 1);
}

void fillRandom(float* data, size_t n, unsigned seed, float scale) {
  uint32_t s = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    data[i] = scale * (static_cast<float>(s >> 8) / 8388608.0f - 1.0f);
  }
}

}  // namespace wgnas
