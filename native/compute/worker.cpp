#include "worker.hpp"

#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>

#include "../backend.hpp"  // onednnErrorText

namespace wgnas::compute {

namespace {

double threadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// A sleeping worker is woken for every kWakeBatch commands, or at once for a read or sync: waking
// it per op costs two futex calls and a context switch (~10 us), more than small ops take, and
// nothing can observe queued work except through a read or sync.
constexpr size_t kWakeBatch = 8;

}  // namespace

Worker::Worker(Runtime& rt, OnDone onDone) : rt_(rt), onDone_(std::move(onDone)) {
  thread_ = std::thread([this] { loop(); });
}

Worker::~Worker() { stop(); }

void Worker::loop() {
  using Clock = std::chrono::steady_clock;
  omp_set_num_threads(rt_.threads);  // per-thread ICV: this thread's team, and oneDNN's
  // Commands are taken from the shared queue in batches (one lock per batch, not per command:
  // the JS thread enqueueing and the worker then rarely meet on the mutex).
  std::deque<Command> batch;
  for (;;) {
    if (abandon_.load(std::memory_order_relaxed)) return;  // the dropped commands' buffers go with `batch`
    Command c;
    auto t0 = Clock::now();
    if (batch.empty()) {
      std::unique_lock<std::mutex> lock(mu_);
      sleeping_ = true;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      sleeping_ = false;
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    c = std::move(batch.front());
    batch.pop_front();
    auto t1 = Clock::now();
    bool cpuTiming = cpuTiming_.load(std::memory_order_relaxed);
    double cpu0 = cpuTiming ? threadCpuNs() : 0;
    if (c.fn) {
      try {
        c.fn(rt_);
      } catch (const dnnl::error& e) {
        if (error_.empty())
          error_ = std::string("native op '") + c.name + "' failed: " + onednnErrorText(e.what(), static_cast<int>(e.status));
      } catch (const std::bad_alloc&) {
        if (error_.empty())
          error_ = std::string("native op '") + c.name + "' failed: out of memory for its buffers: use a smaller batch, or free memory";
      } catch (const std::exception& e) {
        if (error_.empty()) error_ = std::string("native op '") + c.name + "' failed: " + e.what();
      } catch (...) {
        if (error_.empty()) error_ = std::string("native op '") + c.name + "' failed";
      }
    }
    {
      std::lock_guard<std::mutex> lock(profMu_);
      OpTime& o = profile_[c.name];
      o.count++;
      o.ns += std::chrono::duration<double, std::nano>(Clock::now() - t1).count();
      if (cpuTiming) o.cpuNs += threadCpuNs() - cpu0;
      // A wait that began before the last reset counts from the reset: idle time is the profile's own.
      idleNs_ += std::chrono::duration<double, std::nano>(t1 - std::max(t0, resetAt_)).count();
    }
    c.fn = nullptr;  // drop the command's buffer references before reporting completion
    cachedPrimitives_ = rt_.cache.size();
    queued_--;
    if (c.done) {
      std::string err = std::move(error_);
      error_.clear();
      onDone_(c.done, std::move(err));
    }
  }
}

void Worker::push(Command c) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool urgent = c.done != nullptr;
    queue_.push_back(std::move(c));
    queued_++;
    // A busy worker finds the command on its own; skip the futex call.
    wake = sleeping_ && (urgent || queue_.size() >= kWakeBatch);
  }
  if (wake) cv_.notify_one();
}

void Worker::stop(bool drain) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (!drain) abandon_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

WorkerProfile Worker::profile(bool reset) {
  cpuTiming_ = true;
  std::lock_guard<std::mutex> lock(profMu_);
  WorkerProfile out;
  for (auto& [name, t] : profile_) {
    OpTime& m = out.ops[name];
    m.count += t.count;
    m.ns += t.ns;
    m.cpuNs += t.cpuNs;
  }
  out.idleNs = idleNs_;
  if (reset) {
    profile_.clear();
    idleNs_ = 0;
    resetAt_ = std::chrono::steady_clock::now();
  }
  return out;
}

}  // namespace wgnas::compute
