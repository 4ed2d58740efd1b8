#include "profile_run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>

#include "affinity.hpp"
#include "backend.hpp"
#include "clock.hpp"
#include "cpu_info.hpp"

namespace wgnas {

std::string checkOptions(const ProfileOptions& o) {
  if (o.backend != "onednn" && o.backend != "xnnpack") return "unknown backend '" + o.backend + "' (expected onednn or xnnpack)";
  if (o.threads < 1 || o.threads > 1024) return "threads must be in 1..1024";
  if (o.warmup < 0 || o.warmup > 1000000) return "warmup must be in 0..1000000";
  if (o.repeats < 1 || o.repeats > 1000000) return "repeats must be in 1..1000000";
  if (!(o.maxTimeMs >= 0)) return "maxTimeMs must be a non-negative number";
  if (!(o.flushBytes >= 0 && o.flushBytes <= 1e10)) return "flushBytes must be a number of bytes in 0..1e10";
  return "";
}

double autoFlushBytes() {
  CpuInfo c = readCpuInfo();
  auto it = c.cacheBytes.find("l2");
  int64_t l2 = it == c.cacheBytes.end() ? 0 : it->second;
  return l2 > 0 ? 2.0 * static_cast<double>(l2) : 4.0 * 1024 * 1024;
}

ProfileOutcome runProfile(const std::vector<OpSpec>& ops, const ProfileOptions& o) {
  ProfileOutcome out;
  uint64_t t0 = monotonicNs();
  std::unique_ptr<Runner> runner = o.backend == "xnnpack" ? makeXnnpack(ops, o.threads) : makeOnednn(ops, o.threads);
  out.setupMs = static_cast<double>(monotonicNs() - t0) / 1e6;
  // Undo the pinning however the measurement ends (the addon runs on libuv's pool threads).
  struct Unpin {
    Runner* r;
    ~Unpin() {
      if (r) r->restore();
    }
  } unpin{o.pin ? runner.get() : nullptr};
  if (o.pin) {
    out.pinError = runner->pin(allowedCpus());
    out.pinned = out.pinError.empty();
  }
  size_t flush = static_cast<size_t>(o.flushBytes);
  for (int i = 0; i < o.warmup; i++) {
    if (flush) runner->flushCaches(flush);
    runner->run();
  }
  out.samplesMs.reserve(o.repeats);
  double totalMs = 0;
  for (int i = 0; i < o.repeats; i++) {
    if (flush) runner->flushCaches(flush);
    uint64_t a = monotonicNs();
    runner->run();
    double ms = static_cast<double>(monotonicNs() - a) / 1e6;
    out.samplesMs.push_back(ms);
    totalMs += ms;
    // A time budget keeps large ops affordable; three samples are the least a median needs.
    if (o.maxTimeMs > 0 && totalMs > o.maxTimeMs && out.samplesMs.size() >= 3) break;
  }
  // Per-op breakdown: separate runs with a clock read after each op (mean over as many runs).
  if (o.perOp) {
    std::vector<uint64_t> opNs(ops.size(), 0);
    for (size_t i = 0; i < out.samplesMs.size(); i++) {
      if (flush) runner->flushCaches(flush);
      runner->runPerOp(opNs);
    }
    out.opMeanMs.resize(ops.size());
    for (size_t i = 0; i < opNs.size(); i++)
      out.opMeanMs[i] = static_cast<double>(opNs[i]) / 1e6 / static_cast<double>(std::max<size_t>(1, out.samplesMs.size()));
  }
  out.stats = summarize(out.samplesMs);
  return out;
}

int intField(const FieldSource& f, const char* name, const std::string& where, int dflt, bool required) {
  FieldValue v = f.number(name);
  if (v.kind == FieldValue::Absent) {
    if (required) throw std::invalid_argument(where + ": missing numeric field '" + name + "'");
    return dflt;
  }
  if (v.kind == FieldValue::NotNumber) throw std::invalid_argument(where + ": field '" + name + "' must be a number");
  int out = 0;
  std::string err = toInt(v.value, out);
  if (err.empty()) return out;
  std::string msg = where + ": field '" + name + "' " + err + " (got " + numberText(v.value) + ")";
  if (err == "is out of range") throw std::out_of_range(msg);
  throw std::invalid_argument(msg);
}

std::string numberText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  if (std::floor(d) == d && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  for (int precision = 1; precision <= 17; precision++) {  // the shortest text that reads back as d
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

std::string toInt(double d, int& out) {
  if (!std::isfinite(d) || std::floor(d) != d) return "must be an integer";
  if (d < static_cast<double>(std::numeric_limits<int>::min()) || d > static_cast<double>(std::numeric_limits<int>::max()))
    return "is out of range";
  out = static_cast<int>(d);
  return "";
}

OpSpec opFromFields(const FieldSource& f, const std::string& where) {
  std::string type = f.type();
  OpSpec s;
  if (type == "conv") s.kind = OpKind::Conv;
  else if (type == "dwconv") s.kind = OpKind::DwConv;
  else if (type == "mbconv") s.kind = OpKind::MBConv;
  else if (type == "pool") s.kind = OpKind::Pool;
  else if (type == "linear") s.kind = OpKind::Linear;
  else if (type == "logits") s.kind = OpKind::Logits;
  else
    throw std::invalid_argument(where + ": unknown op type '" + type + "' (expected conv, dwconv, mbconv, pool, linear or logits)");
  bool spatialIn = s.kind != OpKind::Linear;
  s.batch = intField(f, "batch", where, 1, false);
  s.inH = intField(f, "inH", where, 1, spatialIn);
  s.inW = intField(f, "inW", where, s.inH, false);
  s.inC = intField(f, "inC", where, 0, true);
  s.outC = intField(f, "outC", where, s.inC, s.kind != OpKind::Pool && s.kind != OpKind::DwConv);
  s.kernel = intField(f, "kernel", where, 1, s.spatial());
  s.stride = intField(f, "stride", where, 1, false);
  s.expand = intField(f, "expand", where, 1, s.kind == OpKind::MBConv);
  int relu6 = f.flag("relu6"), idskip = f.flag("idskip");
  s.relu6 = relu6 < 0 ? true : relu6 == 1;
  s.idskip = idskip < 0 ? false : idskip == 1;
  return s;
}

}  // namespace wgnas
