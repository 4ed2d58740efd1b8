#include "cpu_info.hpp"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "affinity.hpp"

namespace wgnas {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n");
  size_t b = s.find_last_not_of(" \t\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool readLine(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::getline(f, out);
  out = trim(out);
  return true;
}

int64_t parseSize(const std::string& s) {  // "48K", "2048K", "30M"
  if (s.empty()) return 0;
  int64_t v = std::atoll(s.c_str());
  char unit = s.back();
  if (unit == 'K') v *= 1024;
  if (unit == 'M') v *= 1024 * 1024;
  if (unit == 'G') v *= 1024LL * 1024 * 1024;
  return v;
}

// Features worth reporting for an inference profiler (x86 flags, Arm "Features").
const std::set<std::string> kInteresting = {
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd", "asimdhp",
    "asimddp", "sve", "sve2", "i8mm", "bf16"};

}  // namespace

CpuInfo readCpuInfo() {
  CpuInfo info;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  std::set<std::pair<std::string, std::string>> cores;
  std::set<std::string> packages;
  std::string pkg;
  while (std::getline(f, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = trim(line.substr(0, colon)), val = trim(line.substr(colon + 1));
    if (info.model.empty() && (key == "model name" || key == "Model" || key == "cpu model")) info.model = val;
    if (info.vendor.empty() && (key == "vendor_id" || key == "CPU implementer")) info.vendor = val;
    if (key == "physical id") pkg = val, packages.insert(val);
    if (key == "core id") cores.insert({pkg, val});
    if (info.features.empty() && (key == "flags" || key == "Features")) {
      std::istringstream ss(val);
      std::string flag;
      while (ss >> flag)
        if (kInteresting.count(flag)) info.features.push_back(flag);
    }
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  info.logicalCores = online > 0 ? static_cast<int>(online) : 0;
  info.availableCores = static_cast<int>(allowedCpus().size());

  // Prefer sysfs topology (present on Arm too, where /proc/cpuinfo has no core ids).
  std::set<std::pair<std::string, std::string>> sysCores;
  std::set<std::string> sysPackages;
  for (int c = 0; c < info.logicalCores; c++) {
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/";
    std::string p, core;
    if (readLine(base + "physical_package_id", p) && readLine(base + "core_id", core)) {
      sysCores.insert({p, core});
      sysPackages.insert(p);
    }
  }
  if (!sysCores.empty()) {
    info.physicalCores = static_cast<int>(sysCores.size());
    info.sockets = static_cast<int>(sysPackages.size());
  } else {
    info.physicalCores = static_cast<int>(cores.size());
    info.sockets = static_cast<int>(packages.size());
  }

  for (int i = 0; i < 8; i++) {
    std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level, type, size;
    if (!readLine(base + "level", level) || !readLine(base + "type", type) || !readLine(base + "size", size)) continue;
    std::string name = "l" + level;
    if (level == "1") name += type == "Instruction" ? "i" : "d";
    info.cacheBytes[name] = parseSize(size);
  }
  if (info.model.empty()) info.model = "unknown";
  return info;
}

}  // namespace wgnas
