// The device's worker thread: runs queued commands in order, the OpenMP master of its thread team.
// Commands are taken from the shared queue in batches, and a sleeping worker is woken only for a
// batch or for a command someone waits on (read / sync). An op that fails records the first error
// since the last waited-on command, which receives it. Times every command for profile().
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "op.hpp"

namespace wgnas::compute {

struct Completion;  // a read() / sync() promise (device.cpp); the worker only hands it back

struct Command {
  const char* name = "";
  std::function<void(Runtime&)> fn;  // may be empty (sync)
  Completion* done = nullptr;        // set: reported through onDone once the command has run
};

struct OpTime {
  double count = 0, ns = 0, cpuNs = 0;  // cpuNs: the worker thread's CPU time (its OpenMP team's not included)
};

struct WorkerProfile {
  std::map<std::string, OpTime> ops;  // by command name
  double idleNs = 0;                  // waiting for commands
};

class Worker {
 public:
  // onDone(done, error) runs on the worker thread for each command with a Completion, after the
  // command's buffers are released; error: the first failure since the previous one ("" if none).
  using OnDone = std::function<void(Completion*, std::string error)>;
  Worker(Runtime& rt, OnDone onDone);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void push(Command c);
  // Runs what is queued (drain) or only the command in flight (at process exit: nothing can observe
  // the rest), then joins the thread. Idempotent.
  void stop(bool drain = true);
  size_t queued() const { return queued_.load(); }
  size_t cachedPrimitives() const { return cachedPrimitives_.load(); }
  // Per-command times since the last reset; from the first call on, also the worker's CPU time.
  WorkerProfile profile(bool reset);

 private:
  void loop();

  Runtime& rt_;
  OnDone onDone_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;
  bool stopping_ = false;
  std::atomic<bool> abandon_{false};  // stop(false): drop the commands not yet started
  bool sleeping_ = false;  // the worker waits on cv_ (guarded by mu_)
  std::atomic<size_t> queued_{0};
  std::string error_;                         // worker thread
  std::atomic<size_t> cachedPrimitives_{0};  // the worker's primitive cache size, for stats
  std::mutex profMu_;
  // Keyed by the command's static name (no string built per command); merged by text in profile().
  std::unordered_map<const char*, OpTime> profile_;
  double idleNs_ = 0;
  std::chrono::steady_clock::time_point resetAt_{};  // the last profile(true) (guarded by profMu_)
  // The worker thread's CPU time per command costs two clock_gettime system calls (~1 us in a VM,
  // as much as a small op): measured only once profile() has been called.
  std::atomic<bool> cpuTiming_{false};
  std::thread thread_;  // last: started once every member above exists
};

}  // namespace wgnas::compute
