// What the seed's README snippets did in one .NET process with two handles,
// these examples do in two processes: run without arguments, the program is
// the producer and starts itself again as the consumer.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

extern char **environ;

namespace example {

// Starts this same program with the argument "consumer" and waits for it.
// Returns its exit status (0 when it succeeded).
inline int run_consumer_process() {
  char self[] = "/proc/self/exe";
  char role[] = "consumer";
  char *argv[] = {self, role, nullptr};
  std::fflush(stdout);
  pid_t child = 0;
  if (posix_spawn(&child, self, nullptr, nullptr, argv, environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

inline bool is_consumer(int argc, char **argv) {
  return argc > 1 && std::string(argv[1]) == "consumer";
}

}  // namespace example
