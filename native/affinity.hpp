// Thread pinning with pthread_setaffinity_np (Linux). Containers may forbid it; callers report that.
#pragma once
#include <sched.h>

#include <string>
#include <vector>

namespace wgnas {

// CPUs this process may run on (sched_getaffinity), ascending.
std::vector<int> allowedCpus();

struct SavedAffinity {
  cpu_set_t set;
  bool valid = false;
};

// Pin the calling thread to `cpu`, saving its previous mask in `saved`. Returns "" or the error.
std::string pinCurrentThread(int cpu, SavedAffinity& saved);
void restoreCurrentThread(const SavedAffinity& saved);

}  // namespace wgnas
