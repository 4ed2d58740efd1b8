#include "affinity.hpp"

#include <pthread.h>

#include <cstring>

namespace wgnas {

std::vector<int> allowedCpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

std::string pinCurrentThread(int cpu, SavedAffinity& saved) {
  pthread_t self = pthread_self();
  saved.valid = pthread_getaffinity_np(self, sizeof(saved.set), &saved.set) == 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(self, sizeof(set), &set);
  if (rc != 0) return std::string("pthread_setaffinity_np(cpu ") + std::to_string(cpu) + "): " + std::strerror(rc);
  return "";
}

void restoreCurrentThread(const SavedAffinity& saved) {
  if (saved.valid) pthread_setaffinity_np(pthread_self(), sizeof(saved.set), &saved.set);
}

}  // namespace wgnas
