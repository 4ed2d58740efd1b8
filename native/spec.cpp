#include "spec.hpp"

#include <sstream>

namespace wgnas {

const char* kindName(OpKind k) {
  switch (k) {
    case OpKind::Conv: return "conv";
    case OpKind::DwConv: return "dwconv";
    case OpKind::MBConv: return "mbconv";
    case OpKind::Pool: return "pool";
    case OpKind::Linear: return "linear";
    case OpKind::Logits: return "logits";
  }
  return "?";
}

static std::string checkOne(const OpSpec& o) {
  std::ostringstream e;
  const int kMaxDim = 1 << 16;
  const size_t kMaxElems = size_t{1} << 31;  // 8 GiB of f32: beyond that a typo, not a benchmark
  if (o.batch < 1 || o.batch > kMaxDim)
    e << "batch " << o.batch << " must be in 1.." << kMaxDim;
  else if (o.inH < 1 || o.inW < 1 || o.inC < 1 || o.inH > kMaxDim || o.inW > kMaxDim || o.inC > kMaxDim)
    e << "input " << o.inH << "x" << o.inW << "x" << o.inC << " must be positive (and <= " << kMaxDim << ")";
  else if (o.inputCount() > kMaxElems || o.outputCount() > kMaxElems)
    e << "activations of " << o.inputCount() << " -> " << o.outputCount() << " elements exceed " << kMaxElems;
  else if (o.kind == OpKind::DwConv && o.outC != o.inC)
    e << "depthwise output channels " << o.outC << " must equal input channels " << o.inC;
  else if (o.kind != OpKind::Pool && (o.outC < 1 || o.outC > kMaxDim))
    e << "output channels " << o.outC << " must be in 1.." << kMaxDim;
  else if (o.spatial() && (o.kernel < 1 || o.kernel % 2 == 0 || o.kernel > 15))
    e << "kernel " << o.kernel << " must be odd and in 1..15";
  else if (o.spatial() && (o.stride < 1 || o.stride > 4))
    e << "stride " << o.stride << " must be in 1..4";
  else if (o.kind == OpKind::MBConv && (o.expand < 1 || o.expand > 16))
    e << "expand ratio " << o.expand << " must be in 1..16";
  else if (o.kind == OpKind::MBConv && o.idskip && (o.stride != 1 || o.inC != o.outC))
    e << "identity skip needs stride 1 and inC == outC (got stride " << o.stride << ", " << o.inC << " -> " << o.outC << ")";
  else if (o.kind == OpKind::Linear && (o.inH != 1 || o.inW != 1))
    e << "linear input must be 1x1xC (got " << o.inH << "x" << o.inW << "x" << o.inC << ")";
  return e.str();
}

std::string validateOps(const std::vector<OpSpec>& ops) {
  if (ops.empty()) return "empty op list";
  for (size_t i = 0; i < ops.size(); i++) {
    std::string err = checkOne(ops[i]);
    if (!err.empty()) return "op " + std::to_string(i) + " (" + kindName(ops[i].kind) + "): " + err;
    if (i > 0) {
      const OpSpec& p = ops[i - 1];
      const OpSpec& o = ops[i];
      if (p.batch != o.batch)
        return "op " + std::to_string(i) + " (" + kindName(o.kind) + ") batch " + std::to_string(o.batch) +
               " differs from op " + std::to_string(i - 1) + "'s batch " + std::to_string(p.batch);
      if (p.outH() != o.inH || p.outW() != o.inW || p.outChannels() != o.inC) {
        std::ostringstream e;
        e << "op " << i << " (" << kindName(o.kind) << ") input " << o.inH << "x" << o.inW << "x" << o.inC
          << " does not match op " << i - 1 << " (" << kindName(p.kind) << ") output " << p.outH() << "x" << p.outW()
          << "x" << p.outChannels();
        return e.str();
      }
    }
  }
  return "";
}

}  // namespace wgnas
