// CPU model and topology from /proc/cpuinfo and /sys (Linux); fields stay empty where unknown.
// Cache sizes from the first source that knows any: sysfs (cpu0/cache/index*), then sysconf
// (_SC_LEVEL1_DCACHE_SIZE...: glibc), then CPUID (leaf 4, or 0x8000001D on AMD/Hygon): containers
// and some VMs have no cache directory in sysfs.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wgnas {

inline const std::string kSysfsCacheDir = "/sys/devices/system/cpu/cpu0/cache";

struct CpuInfo {
  std::string model;
  std::string vendor;
  int logicalCores = 0;    // online CPUs
  int availableCores = 0;  // CPUs this process may run on (affinity / cgroup cpuset)
  int physicalCores = 0;   // distinct (package, core) pairs; 0 = unknown
  int sockets = 0;
  std::vector<std::string> features;            // SIMD features relevant to inference kernels
  std::map<std::string, int64_t> cacheBytes;    // l1d, l1i, l2, l3 (per instance)
  std::string cacheSource;                      // "sysfs", "sysconf", "cpuid"; empty when none knew
};

using CacheSizes = std::map<std::string, int64_t>;

// The sources, in the order readCpuInfo tries them.
const std::vector<std::string>& defaultCacheSources();

// One source's cache sizes (empty when it knows none). `sysfsDir` is cpu0's cache directory
// (tests point it at a fake tree); an unknown source name throws std::invalid_argument.
CacheSizes cacheSizesFrom(const std::string& source, const std::string& sysfsDir = kSysfsCacheDir);

CpuInfo readCpuInfo(const std::vector<std::string>& cacheSources = defaultCacheSources(),
                    const std::string& sysfsDir = kSysfsCacheDir);

}  // namespace wgnas
