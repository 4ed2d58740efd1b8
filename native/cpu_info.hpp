// CPU model and topology from /proc/cpuinfo and /sys (Linux); fields stay empty where unknown.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wgnas {

struct CpuInfo {
  std::string model;
  std::string vendor;
  int logicalCores = 0;    // online CPUs
  int availableCores = 0;  // CPUs this process may run on (affinity / cgroup cpuset)
  int physicalCores = 0;   // distinct (package, core) pairs; 0 = unknown
  int sockets = 0;
  std::vector<std::string> features;            // SIMD features relevant to inference kernels
  std::map<std::string, int64_t> cacheBytes;    // l1d, l1i, l2, l3 (per instance)
};

CpuInfo readCpuInfo();

}  // namespace wgnas
