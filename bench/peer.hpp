// One side of a benchmark (a reader, a writer), run apart from main and
// pinned to a CPU: in a forked process, as the rows between two processes
// are measured, or in a thread of this process, the anchor those rows are
// read against (crossing a process should cost no more than crossing a
// thread). Either way the side works through the same shared memory.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "pin.hpp"

enum class PeerIn { Process, Thread };

// "threads" names the thread mode on a benchmark's command line.
inline bool peer_mode_named(const std::string &word, PeerIn &where) {
  if (word != "threads")
    return false;
  where = PeerIn::Thread;
  return true;
}

class Peer {
 public:
  // Runs `body` on `cpu` (a negative one: wherever the scheduler puts
  // it); its return value is the side's status (0: done as it should).
  Peer(PeerIn where, int cpu, std::function<int()> body) : where_(where) {
    if (where == PeerIn::Thread) {
      thread_ = std::thread([this, cpu, body = std::move(body)] {
        if (cpu >= 0)
          pin_to_cpu(cpu);
        status_ = body();
      });
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      if (cpu >= 0)
        pin_to_cpu(cpu);
      _exit(body());
    }
  }
  Peer(const Peer &) = delete;
  Peer &operator=(const Peer &) = delete;
  ~Peer() {
    if (thread_.joinable())
      thread_.join();
  }

  bool in_process() const { return where_ == PeerIn::Process; }

  // Waits for the side to end: its status, or -1 if it could not run or
  // died.
  int join() {
    if (where_ == PeerIn::Thread) {
      if (thread_.joinable())
        thread_.join();
      return status_;
    }
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_)
      return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  PeerIn where_;
  pid_t pid_ = -1;
  std::thread thread_;
  int status_ = -1;
};
