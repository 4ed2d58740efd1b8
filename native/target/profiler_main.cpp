// wgnas-profiler: the addon's latency profiler as a standalone program for target devices (no Node
// there). Reads one op chain per line (file or stdin), times each as the addon's profile() does
// (same backends, pinning, cache flushing, repeats and statistics: native/profile_run.cpp) and
// writes one JSON line per chain as soon as it is measured, so a dropped connection loses at most
// the chain in flight. The first output line is the target's stamp (CPU, library, settings).
//
//   wgnas-profiler [--backend onednn|xnnpack] [--threads N] [--warmup N] [--repeats N]
//                  [--max-time-ms T] [--flush-bytes auto|BYTES] [--no-pin] [--info] [FILE|-]
//
// Input line: ID OP[;OP...]   with OP = type=mbconv,inH=56,inC=24,outC=24,expand=3,kernel=5,...
// (the fields of the addon's NativeOp; relu6 / idskip as 0 or 1). Blank and '#' lines are skipped.
// Output lines: {"event":"stamp",...}, then {"event":"result","id":...,"count":...,"mean":...,...}
// per chain, {"event":"error",...} on a bad line (exit 2) or a failed measurement (exit 1), and
// {"event":"done","count":N} at the end.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../backend.hpp"
#include "../cpu_info.hpp"
#include "../profile_run.hpp"
#include "../spec.hpp"

namespace wgnas {
namespace {

const char* kVersion = "1";

#if defined(__aarch64__)
const char* kArch = "aarch64";
#elif defined(__x86_64__)
const char* kArch = "x86_64";
#else
const char* kArch = "unknown";
#endif

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void emitError(const std::string& id, size_t line, const std::string& msg) {
  emit("{\"event\":\"error\",\"id\":" + jsonString(id) + ",\"line\":" + std::to_string(line) + ",\"message\":" + jsonString(msg) + "}");
}

// The library stamp, in the words of the TypeScript describeBackend(): "oneDNN 2.6.3 (OpenMP, avx2)".
std::string describe(const BackendInfo& b) {
  std::string label = b.name == "onednn" ? "oneDNN" : "XNNPACK";
  std::string extra;
  for (const std::string& s : {b.runtime, b.isa}) {
    if (s.empty()) continue;
    if (!extra.empty()) extra += ", ";
    extra += s;
  }
  std::string out = label;
  if (!b.version.empty()) out += " " + b.version;
  if (!extra.empty()) out += " (" + extra + ")";
  return out;
}

// "type=mbconv,inH=56,..." -> the op, with the addon's defaults and required fields.
OpSpec parseOpText(const std::string& text, const std::string& where) {
  std::map<std::string, std::string> fields;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument(where + ": expected name=value, got '" + part + "'");
    std::string name = part.substr(0, eq);
    if (fields.count(name)) throw std::invalid_argument(where + ": field '" + name + "' repeated");
    fields[name] = part.substr(eq + 1);
  }
  FieldSource f;
  f.type = [&]() { return fields.count("type") ? fields["type"] : std::string(); };
  f.number = [&](const char* name) {
    FieldValue r;
    auto it = fields.find(name);
    if (it == fields.end()) return r;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0') {
      r.kind = FieldValue::NotNumber;
      return r;
    }
    r.kind = FieldValue::Number;
    r.value = v;
    return r;
  };
  f.flag = [&](const char* name) {
    auto it = fields.find(name);
    if (it == fields.end()) return -1;
    if (it->second == "1" || it->second == "true") return 1;
    if (it->second == "0" || it->second == "false") return 0;
    throw std::invalid_argument(where + ": field '" + std::string(name) + "' must be 0 or 1");
  };
  return opFromFields(f, where);
}

struct Args {
  ProfileOptions opt;
  bool flushAuto = true, info = false;
  std::string input = "-";
};

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr, "wgnas-profiler: %s\n", msg.c_str());
  std::exit(2);
}

int intArg(const std::string& flag, const char* v) {
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0') usage(flag + " needs an integer, got '" + v + "'");
  // Beyond int, the cast would wrap (--threads 4294967297 ran on 1 thread): refuse instead.
  if (errno == ERANGE || x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    usage(flag + " is out of range, got '" + std::string(v) + "'");
  return static_cast<int>(x);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(s + " needs a value");
      return argv[++i];
    };
    if (s == "--backend") a.opt.backend = value();
    else if (s == "--threads") a.opt.threads = intArg(s, value());
    else if (s == "--warmup") a.opt.warmup = intArg(s, value());
    else if (s == "--repeats") a.opt.repeats = intArg(s, value());
    else if (s == "--max-time-ms") a.opt.maxTimeMs = intArg(s, value());
    else if (s == "--flush-bytes") {
      std::string v = value();
      a.flushAuto = v == "auto";
      if (!a.flushAuto) a.opt.flushBytes = static_cast<double>(std::strtoll(v.c_str(), nullptr, 10));
      if (!a.flushAuto && (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)) usage("--flush-bytes needs auto or a byte count, got '" + v + "'");
    } else if (s == "--no-pin") a.opt.pin = false;
    else if (s == "--info") a.info = true;
    else if (s == "--version") {
      std::printf("wgnas-profiler %s (%s)\n", kVersion, kArch);
      std::exit(0);
    } else if (s == "--help" || s == "-h") {
      std::printf("usage: wgnas-profiler [--backend onednn|xnnpack] [--threads N] [--warmup N] [--repeats N] [--max-time-ms T]\n"
                  "                      [--flush-bytes auto|BYTES] [--no-pin] [--info] [FILE|-]\n");
      std::exit(0);
    } else if (!s.empty() && s[0] == '-' && s != "-") usage("unknown option '" + s + "'");
    else a.input = s;
  }
  if (a.flushAuto) a.opt.flushBytes = autoFlushBytes();
  std::string err = checkOptions(a.opt);
  if (!err.empty()) usage(err);
  return a;
}

std::string stampLine(const Args& a, const BackendInfo& b, const ProfileOutcome& probe) {
  CpuInfo c = readCpuInfo();
  std::string feats, caches;
  for (const std::string& f : c.features) feats += (feats.empty() ? "" : ",") + jsonString(f);
  for (const auto& [k, v] : c.cacheBytes) caches += (caches.empty() ? "" : ",") + jsonString(k) + ":" + std::to_string(v);
  std::string s = "{\"event\":\"stamp\",\"version\":" + std::string(kVersion) + ",\"arch\":" + jsonString(kArch) +
                  ",\"cpu\":" + jsonString(c.model) + ",\"vendor\":" + jsonString(c.vendor) +
                  ",\"logicalCores\":" + std::to_string(c.logicalCores) + ",\"physicalCores\":" + std::to_string(c.physicalCores) +
                  ",\"availableCores\":" + std::to_string(c.availableCores) + ",\"features\":[" + feats + "],\"cacheBytes\":{" + caches +
                  "},\"library\":" + jsonString(describe(b)) + ",\"backend\":" + jsonString(a.opt.backend) +
                  ",\"threads\":" + std::to_string(a.opt.threads) + ",\"pinned\":" + (probe.pinned ? "true" : "false");
  if (!probe.pinError.empty()) s += ",\"pinError\":" + jsonString(probe.pinError);
  return s + ",\"flushBytes\":" + num(a.opt.flushBytes) + ",\"repeats\":" + std::to_string(a.opt.repeats) +
         ",\"warmup\":" + std::to_string(a.opt.warmup) + ",\"maxTimeMs\":" + num(a.opt.maxTimeMs) + "}";
}

int run(int argc, char** argv) {
  Args a = parseArgs(argc, argv);
  BackendInfo b = a.opt.backend == "xnnpack" ? xnnpackInfo() : onednnInfo();
  if (!b.available) usage("backend '" + a.opt.backend + "' is unavailable in this build: " + b.reason);
  // A one-sample probe tells whether pinning works here, for the stamp (as the addon's table builder does).
  ProfileOptions probeOpt = a.opt;
  probeOpt.repeats = 1;
  probeOpt.warmup = 0;
  OpSpec lin;
  lin.kind = OpKind::Linear;
  lin.inC = 8;
  lin.outC = 8;
  ProfileOutcome probe = runProfile({lin}, probeOpt);
  emit(stampLine(a, b, probe));
  if (a.info) return 0;

  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.input != "-") {
    file.open(a.input);
    if (!file) usage("cannot read " + a.input);
    in = &file;
  }
  std::string line;
  size_t n = 0, done = 0;
  while (std::getline(*in, line)) {
    n++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find(' ');
    std::string id = line.substr(0, sp);
    std::vector<OpSpec> ops;
    try {
      if (sp == std::string::npos) throw std::invalid_argument("line " + std::to_string(n) + ": expected 'ID OP[;OP...]'");
      std::stringstream ss(line.substr(sp + 1));
      std::string opText;
      while (std::getline(ss, opText, ';')) ops.push_back(parseOpText(opText, "line " + std::to_string(n) + " op " + std::to_string(ops.size())));
      std::string err = validateOps(ops);
      if (!err.empty()) throw std::invalid_argument("line " + std::to_string(n) + ": " + err);
    } catch (const std::exception& e) {
      emitError(id, n, e.what());
      return 2;
    }
    ProfileOutcome r;
    try {
      r = runProfile(ops, a.opt);
    } catch (const std::exception& e) {
      emitError(id, n, e.what());
      return 1;
    }
    const Stats& s = r.stats;
    emit("{\"event\":\"result\",\"id\":" + jsonString(id) + ",\"count\":" + std::to_string(s.count) + ",\"mean\":" + num(s.mean) +
         ",\"std\":" + num(s.std) + ",\"median\":" + num(s.median) + ",\"iqr\":" + num(s.iqr) + ",\"p25\":" + num(s.p25) +
         ",\"p75\":" + num(s.p75) + ",\"min\":" + num(s.min) + ",\"max\":" + num(s.max) + ",\"setupMs\":" + num(r.setupMs) + "}");
    done++;
  }
  emit("{\"event\":\"done\",\"count\":" + std::to_string(done) + "}");
  return 0;
}

}  // namespace
}  // namespace wgnas

int main(int argc, char** argv) {
  try {
    return wgnas::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wgnas-profiler: %s\n", e.what());
    return 1;
  }
}
