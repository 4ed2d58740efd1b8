#include "cpu_info.hpp"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

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

CacheSizes fromSysfs(const std::string& dir) {
  CacheSizes out;
  for (int i = 0; i < 8; i++) {
    std::string base = dir + "/index" + std::to_string(i) + "/";
    std::string level, type, size;
    if (!readLine(base + "level", level) || !readLine(base + "type", type) || !readLine(base + "size", size)) continue;
    std::string name = "l" + level;
    if (level == "1") name += type == "Instruction" ? "i" : "d";
    int64_t bytes = parseSize(size);
    if (bytes > 0) out[name] = bytes;
  }
  return out;
}

CacheSizes fromSysconf() {
  CacheSizes out;
#ifdef _SC_LEVEL1_DCACHE_SIZE
  const std::pair<const char*, int> names[] = {{"l1d", _SC_LEVEL1_DCACHE_SIZE},
                                               {"l1i", _SC_LEVEL1_ICACHE_SIZE},
                                               {"l2", _SC_LEVEL2_CACHE_SIZE},
                                               {"l3", _SC_LEVEL3_CACHE_SIZE}};
  for (auto& [name, key] : names) {
    long v = sysconf(key);  // 0 or -1 where glibc does not know
    if (v > 0) out[name] = v;
  }
#endif
  return out;
}

// Deterministic cache parameters (the same layout in Intel's leaf 4 and AMD's 0x8000001D): EAX type
// (bits 4:0; 0 ends the list) and level (7:5); EBX line size, partitions and ways (each minus 1);
// ECX sets minus 1. Where neither answers (AMD without TOPOEXT, as some hypervisors show it), AMD's
// older leaves: 0x80000005 ECX/EDX bits 31:24 the L1d/L1i KiB, 0x80000006 ECX bits 31:16 the L2
// KiB and EDX bits 31:18 the L3 in 512 KiB units.
CacheSizes fromCpuid() {
  CacheSizes out;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  const unsigned maxExt = __get_cpuid_max(0x80000000u, nullptr);
  for (unsigned leaf : {4u, 0x8000001Du}) {
    if (__get_cpuid_max(leaf & 0x80000000u, nullptr) < leaf) continue;
    for (unsigned sub = 0; sub < 16; sub++) {
      if (!__get_cpuid_count(leaf, sub, &a, &b, &c, &d)) break;
      unsigned type = a & 0x1f, level = (a >> 5) & 0x7;
      if (type == 0) break;
      int64_t line = (b & 0xfff) + 1, parts = ((b >> 12) & 0x3ff) + 1, ways = ((b >> 22) & 0x3ff) + 1, sets = int64_t(c) + 1;
      std::string name = "l" + std::to_string(level);
      if (level == 1 && type == 1) name += "d";
      else if (level == 1 && type == 2) name += "i";
      else if (type == 2) continue;  // an instruction cache beyond L1: not reported
      out[name] = ways * parts * line * sets;
    }
    if (!out.empty()) return out;  // leaf 4 answered (Intel): AMD's leaf is not asked
  }
  if (maxExt >= 0x80000005u && __get_cpuid(0x80000005u, &a, &b, &c, &d)) {
    if (c >> 24) out["l1d"] = int64_t(c >> 24) << 10;
    if (d >> 24) out["l1i"] = int64_t(d >> 24) << 10;
  }
  if (maxExt >= 0x80000006u && __get_cpuid(0x80000006u, &a, &b, &c, &d)) {
    if (c >> 16) out["l2"] = int64_t(c >> 16) << 10;
    if (d >> 18) out["l3"] = int64_t(d >> 18) << 19;
  }
#endif
  return out;
}

}  // namespace

const std::vector<std::string>& defaultCacheSources() {
  static const std::vector<std::string> order = {"sysfs", "sysconf", "cpuid"};
  return order;
}

CacheSizes cacheSizesFrom(const std::string& source, const std::string& sysfsDir) {
  if (source == "sysfs") return fromSysfs(sysfsDir);
  if (source == "sysconf") return fromSysconf();
  if (source == "cpuid") return fromCpuid();
  throw std::invalid_argument("unknown cache source '" + source + "' (sysfs, sysconf or cpuid)");
}

CpuInfo readCpuInfo(const std::vector<std::string>& cacheSources, const std::string& sysfsDir) {
  for (const std::string& source : cacheSources)  // a bad name is refused before anything is read
    if (source != "sysfs" && source != "sysconf" && source != "cpuid") cacheSizesFrom(source, sysfsDir);
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

  // The first source that knows any size gives them all (their per-instance meaning can differ).
  for (const std::string& source : cacheSources) {
    info.cacheBytes = cacheSizesFrom(source, sysfsDir);
    if (!info.cacheBytes.empty()) {
      info.cacheSource = source;
      break;
    }
  }
  if (info.model.empty()) info.model = "unknown";
  return info;
}

}  // namespace wgnas
