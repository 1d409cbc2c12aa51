// A process named so that pid reuse cannot fool a liveness check: the pid
// plus its start time in clock ticks since boot (/proc/<pid>/stat field 22).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace shmring {

struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
};

ProcessIdentity current_process();

// 0 when the process does not exist (or /proc cannot tell).
std::uint64_t process_start_time(pid_t pid);

// True while that very process (not a later one with its pid) runs.
bool process_alive(pid_t pid, std::uint64_t start_time);

}  // namespace shmring
