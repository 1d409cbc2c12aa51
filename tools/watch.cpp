#include "watch.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "shmring/error.hpp"
#include "shmring/inspect.hpp"

namespace shmring::tool {

namespace {

struct Sample {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::chrono::steady_clock::time_point at;
};

// Rates from two looks at the same writer's ring; none on the first look.
void print_ring(const ObjectInfo &info, const Sample *before, const Sample &now) {
  char rates[64] = "     -       -";
  if (before && now.at > before->at && now.frames >= before->frames && now.bytes >= before->bytes) {
    const double seconds = std::chrono::duration<double>(now.at - before->at).count();
    std::snprintf(rates, sizeof rates, "%6.1f %7.2f", (now.frames - before->frames) / seconds,
                  (now.bytes - before->bytes) / seconds / 1e6);
  }
  std::printf("%-24s %-8d %-5s %s %7zu %10llu  %s\n", info.name.c_str(),
              static_cast<int>(info.owner_pid), info.owner_alive ? "alive" : "dead", rates,
              info.readers.size(), static_cast<unsigned long long>(info.frames),
              info.closed ? "closed" : "open");
  for (const RingReaderInfo &reader : info.readers)
    std::printf("    reader %-8d %-6s %-5s lag %-6llu lost %-8llu received %llu\n", reader.pid,
                reader.leaky ? "leaky" : "block", reader.alive ? "alive" : "dead",
                static_cast<unsigned long long>(
                    info.frames > reader.cursor ? info.frames - reader.cursor : 0),
                static_cast<unsigned long long>(reader.lost),
                static_cast<unsigned long long>(reader.received));
}

}  // namespace

int watch(unsigned interval_ms, unsigned count) {
  const bool terminal = isatty(STDOUT_FILENO);
  // Keyed by name and writer: a new writer on a name starts its rates over.
  std::map<std::pair<std::string, pid_t>, Sample> previous;
  for (unsigned view = 0; count == 0 || view < count; ++view) {
    if (view > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    if (terminal)
      std::printf("\033[H\033[2J");
    std::printf("%-24s %-8s %-5s %6s %7s %7s %10s  %s\n", "RING", "WRITER", "", "FPS", "MB/S",
                "READERS", "FRAMES", "STATE");
    std::map<std::pair<std::string, pid_t>, Sample> current;
    for (const std::string &name : list_object_names()) {
      ObjectInfo info;
      try {
        info = inspect_object(name);
      } catch (const Error &) {
        continue;  // gone, or not ours to read
      }
      if (info.kind != ObjectKind::Ring || !info.problem.empty())
        continue;
      const std::pair<std::string, pid_t> key{name, info.owner_pid};
      const Sample now{info.frames, info.bytes_published, std::chrono::steady_clock::now()};
      const auto found = previous.find(key);
      print_ring(info, found == previous.end() ? nullptr : &found->second, now);
      current[key] = now;
    }
    std::printf("\n");
    std::fflush(stdout);
    previous = std::move(current);
  }
  return 0;
}

}  // namespace shmring::tool
