// CLOCK_MONOTONIC_COARSE as a Clock (steady_clock) time: the same clock at
// the resolution of the kernel's tick (1-4 ms), read from the vDSO without
// the timestamp counter arithmetic. For the rate limits of checks on the
// write path (is a read-only reader there, is a reader dead), which a
// precise read per record would cost more than the record itself.
#pragma once

#include <time.h>

#include <chrono>

#include "shmring/timeout.hpp"

namespace shmring {

// How far coarse_now() may lag the precise clock (its resolution).
inline Clock::duration coarse_resolution() {
  static const Clock::duration resolution = [] {
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
      return Clock::duration(std::chrono::seconds(1));
    return std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(res.tv_sec) +
                                                       std::chrono::nanoseconds(res.tv_nsec));
  }();
  return resolution;
}

inline Deadline coarse_now() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return Deadline(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

}  // namespace shmring
