// The one way to say how long a call may block. A relative Timeout becomes
// an absolute Deadline once per call, so that a wait which is woken and goes
// back to sleep never stretches: at the start of the call, or, for a
// timeout of 1 ms or more in a call that usually succeeds at once (the
// circular buffer's), when it first has to wait, a microsecond or two in.
// Both saturate: the longest timeout is "forever", never a deadline that
// has already passed.
#pragma once

#include <chrono>
#include <cstdint>

namespace shmring {

using Timeout = std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux, as futex uses
using Deadline = Clock::time_point;

// Wait as long as it takes.
constexpr Timeout kWaitForever = Timeout::max();
// Do not wait at all: succeed now or report that it would block.
constexpr Timeout kNoWait = Timeout::zero();
// A deadline that never comes.
constexpr Deadline kNever = Deadline::max();

// now + timeout, saturating at kNever; a negative timeout is "now".
inline Deadline deadline_after(Timeout timeout) {
  const Deadline now = Clock::now();
  if (timeout <= Timeout::zero())
    return now;
  if (timeout >= std::chrono::duration_cast<Timeout>(kNever - now))
    return kNever;
  return now + std::chrono::duration_cast<Clock::duration>(timeout);
}

// The same for an unsigned count of nanoseconds (GStreamer's guint64 times):
// values beyond what Timeout holds mean forever, never a negative wait.
inline Deadline deadline_after_ns(std::uint64_t nanoseconds) {
  constexpr auto kLongest = static_cast<std::uint64_t>(Timeout::max().count());
  return nanoseconds >= kLongest ? kNever
                                 : deadline_after(Timeout(static_cast<Timeout::rep>(nanoseconds)));
}

}  // namespace shmring
