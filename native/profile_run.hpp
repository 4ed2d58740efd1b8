// The measurement itself, shared by the addon's profile() (an AsyncWorker) and the standalone
// profiler executable (native/target/): build the backend's runner for an op chain, pin, warm up,
// time `repeats` runs with the caches flushed before each, optionally time each op, summarize.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spec.hpp"
#include "stats.hpp"

namespace wgnas {

struct ProfileOptions {
  std::string backend = "onednn";
  int threads = 1, warmup = 5, repeats = 20;
  bool pin = true, keepSamples = false, perOp = false;
  double maxTimeMs = 0;
  double flushBytes = 0;
};

// "" when the options are in range, else what is wrong (the same wording the addon always used).
std::string checkOptions(const ProfileOptions& o);

struct ProfileOutcome {
  std::vector<double> samplesMs;
  std::vector<double> opMeanMs;  // per op, with perOp
  Stats stats;
  double setupMs = 0;
  bool pinned = false;
  std::string pinError;
};

// Throws std::runtime_error (backend setup or run failures). `ops` must have passed validateOps.
ProfileOutcome runProfile(const std::vector<OpSpec>& ops, const ProfileOptions& o);

// Twice the per-core L2 (4 MiB when unknown): what 'auto' cache flushing touches per thread.
double autoFlushBytes();

// ---- the op fields, read by name from a JS object (addon) or a text line (executable) ----

// One field as the source has it: absent, present but not a number, or a number.
struct FieldValue {
  enum Kind { Absent, NotNumber, Number } kind = Absent;
  double value = 0;
};

// Looks a field up by name; `flag` reads a boolean field (relu6, idskip): -1 absent, 0 false, 1 true.
struct FieldSource {
  std::function<FieldValue(const char*)> number;
  std::function<int(const char*)> flag;
  std::function<std::string()> type;
};

// The integer field `name`: `dflt` when absent (unless `required`); throws std::invalid_argument
// naming `where` and the field (missing, not a number, not an integer), std::out_of_range beyond
// int's range. The op fields' reader and the addon's options share it.
int intField(const FieldSource& f, const char* name, const std::string& where, int dflt, bool required);

// Builds an op with the defaults and required fields of the addon's profile(); throws
// std::invalid_argument naming `where` and the field (an unknown type, a missing or non-integer
// field), std::out_of_range for an integer beyond int's range.
OpSpec opFromFields(const FieldSource& f, const std::string& where);

// A number as JavaScript prints it (3, 2.5, 10000000000, NaN, Infinity), for error messages.
std::string numberText(double d);

// "" and `out` set when `d` is an integer in int's range; else what is wrong with it ("must be an
// integer" / "is out of range"). Checked before any cast: a double outside int's range (NaN, 1e10)
// cast to int is undefined behaviour.
std::string toInt(double d, int& out);

}  // namespace wgnas
