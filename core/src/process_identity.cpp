#include "process_identity.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace shmring {

namespace {

struct ProcStat {
  char state = '?';
  std::uint64_t start_time = 0;
};

// False when /proc/<pid>/stat cannot be read or parsed.
bool read_proc_stat(pid_t pid, ProcStat &out) {
  if (pid <= 0)
    return false;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE *file = std::fopen(path.c_str(), "re");
  if (!file)
    return false;
  char buffer[1024];
  size_t length = std::fread(buffer, 1, sizeof(buffer) - 1, file);
  std::fclose(file);
  buffer[length] = '\0';
  // The command name (field 2) may hold spaces and parentheses: count fields
  // from the last ')'. Field 3 is the state, field 22 the start time.
  const char *at = std::strrchr(buffer, ')');
  if (!at || at[1] != ' ' || at[2] == '\0')
    return false;
  out.state = at[2];
  int field = 2;
  for (; *at && field < 22; ++at) {
    if (*at == ' ')
      ++field;
  }
  if (field != 22)
    return false;
  out.start_time = std::strtoull(at, nullptr, 10);
  return true;
}

}  // namespace

std::uint64_t process_start_time(pid_t pid) {
  ProcStat stat;
  return read_proc_stat(pid, stat) ? stat.start_time : 0;
}

ProcessIdentity current_process() {
  return ProcessIdentity{getpid(), process_start_time(getpid())};
}

bool process_alive(pid_t pid, std::uint64_t start_time) {
  if (pid <= 0)
    return false;
  if (kill(pid, 0) != 0 && errno != EPERM)
    return false;
  ProcStat stat;
  if (!read_proc_stat(pid, stat))
    return true;  // it exists but /proc will not say more: assume alive
  // A zombie holds nothing any more; another start time is a reused pid.
  return stat.state != 'Z' && stat.state != 'X' && stat.start_time == start_time;
}

}  // namespace shmring
