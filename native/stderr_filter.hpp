// Filtering of fd 2 around a native call that prints known harmless lines (Dawn's start-up
// "artificially reduced" warnings come from its C++ through fprintf(stderr), out of reach of any
// JS-level console filter). begin() points fd 2 at a pipe; a reader thread forwards every line to
// the real stderr at once unless it contains one of the given substrings (those are kept and
// returned by end()), so a real error is never lost, even if the process dies in between.
// Header-only: included by addon.cpp alone.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

namespace wgnas {

class StderrFilter {
 public:
  // A filter still active at exit (begin() without end(), then process.exit()): the joinable reader
  // thread's destructor called std::terminate, so the process aborted. Restore fd 2 and join it.
  ~StderrFilter() { end(); }

  // False (and nothing changed) when a filter is already active or a pipe cannot be made.
  bool begin(std::vector<std::string> patterns) {
    if (active_) return false;
    int fds[2];
    if (pipe(fds) != 0) return false;
    std::fflush(stderr);
    saved_ = dup(2);
    if (saved_ < 0 || dup2(fds[1], 2) < 0) {
      if (saved_ >= 0) close(saved_);
      close(fds[0]);
      close(fds[1]);
      return false;
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(saved_, F_SETFD, FD_CLOEXEC);
    patterns_ = std::move(patterns);
    held_.clear();
    readFd_ = fds[0];
    active_ = true;
    reader_ = std::thread([this] { pump(); });
    return true;
  }

  // Restores fd 2 and returns the lines held back (without their newlines).
  std::vector<std::string> end() {
    if (!active_) return {};
    std::fflush(stderr);
    dup2(saved_, 2);  // drops the pipe's last write end: the reader sees EOF
    reader_.join();
    close(readFd_);
    close(saved_);
    active_ = false;
    return std::move(held_);
  }

 private:
  void pump() {
    std::string pending;
    char buf[4096];
    for (;;) {
      ssize_t n = read(readFd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        route(pending.substr(0, nl), true);
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) route(pending, false);
  }

  void route(const std::string& line, bool newline) {
    for (const auto& p : patterns_) {
      if (!p.empty() && line.find(p) != std::string::npos) {
        held_.push_back(line);
        return;
      }
    }
    std::string out = newline ? line + "\n" : line;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = write(saved_, out.data() + off, out.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
  }

  bool active_ = false;
  int saved_ = -1;
  int readFd_ = -1;
  std::thread reader_;
  std::vector<std::string> patterns_;
  std::vector<std::string> held_;
};

}  // namespace wgnas
