// Helpers shared by the backends: deterministic weight/input fill, cache flushing, given-data checks.
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

std::string checkGiven(const std::vector<OpSpec>& ops, const GivenData& g) {
  if (ops.size() != 1) return "expects exactly one op";
  const OpSpec& o = ops[0];
  if (o.kind != OpKind::Conv && o.kind != OpKind::DwConv)
    return std::string("supports conv and dwconv ops only (got ") + kindName(o.kind) + ")";
  auto bad = [](const char* what, size_t got, size_t want) {
    return std::string(what) + " has " + std::to_string(got) + " elements, expected " + std::to_string(want);
  };
  if (g.input.size() != o.inputCount()) return bad("input", g.input.size(), o.inputCount());
  if (g.weights.size() != o.weightCount()) return bad("weights", g.weights.size(), o.weightCount());
  if (!g.bias.empty() && g.bias.size() != static_cast<size_t>(o.outChannels()))
    return bad("bias", g.bias.size(), static_cast<size_t>(o.outChannels()));
  return "";
}

}  // namespace wgnas
