// The physical limit of a one-copy transport: single-core memcpy bandwidth
// for the copy a ring sink makes, one frame that upstream just produced (so
// it is warm in the cache) into each of SLOTS destination buffers in turn
// (2: the warm case of a ring that reuses its most recently freed slots).
// With PROCESSES > 1, that many processes copy at once (a queue's writer
// copying in while its reader copies out share the memory bus and the
// last-level cache): the parallel limit. Prints bytes per second, per
// process (the slowest one's).
//
//   memcpy-limit BYTES [SECONDS] [SLOTS] [PROCESSES]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// Bytes per second of copying one warm frame into `slots` buffers in turn.
double copy_rate(std::size_t size, double seconds, std::size_t slots) {
  std::vector<char> frame(size, 1);
  std::vector<std::vector<char>> ring(slots, std::vector<char>(size, 0));
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::size_t copies = 0;
  while (Clock::now() < end) {
    for (auto &slot : ring)
      std::memcpy(slot.data(), frame.data(), size);
    copies += slots;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  unsigned sum = 0;
  for (const auto &slot : ring)
    sum += static_cast<unsigned char>(slot[size / 2]);
  if (sum != slots)
    return -1;  // keeps the copies from being optimised away
  return double(copies) * double(size) / elapsed;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BYTES [SECONDS] [SLOTS] [PROCESSES]\n", argv[0]);
    return 2;
  }
  const std::size_t size = std::strtoull(argv[1], nullptr, 10);
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const std::size_t slots = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  const int processes = argc > 4 ? std::atoi(argv[4]) : 1;
  if (size == 0 || slots == 0 || processes < 1) {
    std::fprintf(stderr, "BYTES, SLOTS and PROCESSES must be positive\n");
    return 2;
  }
  if (processes == 1) {
    const double rate = copy_rate(size, seconds, slots);
    std::printf("%.0f\n", rate);
    return rate > 0 ? 0 : 1;
  }
  int results[2];
  if (pipe(results) != 0)
    return 1;
  for (int p = 0; p < processes; ++p) {
    if (fork() == 0) {
      const double rate = copy_rate(size, seconds, slots);
      (void)!write(results[1], &rate, sizeof rate);
      _exit(rate > 0 ? 0 : 1);
    }
  }
  double slowest = 0;
  bool ok = true;
  for (int p = 0; p < processes; ++p) {
    double rate = 0;
    ok &= read(results[0], &rate, sizeof rate) == sizeof rate && rate > 0;
    slowest = p == 0 ? rate : std::min(slowest, rate);
    int status = 0;
    wait(&status);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (!ok)
    return 1;
  std::printf("%.0f\n", slowest);
  return 0;
}
