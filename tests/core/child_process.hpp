// Running a piece of a test in a forked child (a real second process that
// opens shared objects by name), with pipes to hand it steps and to hear back.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "test_support.hpp"

namespace shmring::test {

// A one-way pipe of bytes; each byte is one "step done".
class Signal {
 public:
  Signal() {
    if (pipe(fds_) != 0)
      ADD_FAILURE() << "pipe failed";
  }
  ~Signal() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Signal(const Signal &) = delete;
  Signal &operator=(const Signal &) = delete;

  void send(char byte = 1) {
    if (::write(fds_[1], &byte, 1) != 1)
      std::perror("signal write");
  }
  // The next byte, or -1 if none came within `timeout_ms`.
  int receive(int timeout_ms) {
    pollfd fd{fds_[0], POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) != 1)
      return -1;
    char byte = 0;
    return ::read(fds_[0], &byte, 1) == 1 ? static_cast<unsigned char>(byte) : -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Forks a child that runs `body`; its exit status is 0 when `body` returns,
// 99 when it throws (the message goes to stderr).
inline pid_t spawn(const std::function<void()> &body) {
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception &error) {
      std::fprintf(stderr, "child %d: %s\n", getpid(), error.what());
      code = 99;
    }
    _exit(code);
  }
  return child;
}

// Waits (bounded) and expects a clean exit.
inline void expect_clean_exit(pid_t child, int timeout_ms) {
  const int status = wait_child(child, timeout_ms);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "child " << child << " status " << status;
}

// Kills with SIGKILL and reaps.
inline void kill_child(pid_t child) {
  kill(child, SIGKILL);
  wait_child(child, 5000);
}

}  // namespace shmring::test
