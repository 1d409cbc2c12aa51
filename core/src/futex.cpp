#include "futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace shmring {

namespace {
std::uint32_t *raw(std::atomic<std::uint32_t> &word) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t *>(&word);
}
}  // namespace

bool futex_wait_until(std::atomic<std::uint32_t> &word, std::uint32_t expected, Deadline deadline) {
  auto since_epoch = deadline.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  struct timespec abs_time;
  abs_time.tv_sec = static_cast<time_t>(secs.count());
  abs_time.tv_nsec = static_cast<long>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so retrying
  // after EINTR does not stretch the wait.
  for (;;) {
    long rc = syscall(SYS_futex, raw(word), FUTEX_WAIT_BITSET, expected, &abs_time, nullptr,
                      FUTEX_BITSET_MATCH_ANY);
    if (rc == 0 || errno == EAGAIN)
      return true;  // woken, or the word already changed
    if (errno == ETIMEDOUT)
      return false;
    if (errno != EINTR)
      return Clock::now() < deadline;  // unexpected: let the caller re-check
  }
}

void futex_wake_all(std::atomic<std::uint32_t> &word) {
  syscall(SYS_futex, raw(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace shmring
