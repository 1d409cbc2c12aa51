// The physical limit of a one-copy transport: single-core memcpy bandwidth
// for the copy a ring sink makes, one frame that upstream just produced (so
// it is warm in the cache) into each of SLOTS destination buffers in turn
// (2: the warm case of a ring that reuses its most recently freed slots).
// Prints bytes per second.
//
//   memcpy-limit BYTES [SECONDS] [SLOTS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BYTES [SECONDS] [SLOTS]\n", argv[0]);
    return 2;
  }
  const std::size_t size = std::strtoull(argv[1], nullptr, 10);
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const std::size_t slots = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  if (size == 0 || slots == 0) {
    std::fprintf(stderr, "BYTES and SLOTS must be positive\n");
    return 2;
  }
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
  std::printf("%.0f\n", double(copies) * double(size) / elapsed);
  return sum == slots ? 0 : 1;  // keeps the copies from being optimised away
}
