// The one time type: relative timeouts become deadlines once, saturating,
// so that the longest timeout waits forever instead of having expired.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "shmring/timeout.hpp"

using namespace shmring;

TEST(Timeout, TheLongestTimeoutIsForeverNotThePast) {
  EXPECT_EQ(deadline_after(kWaitForever), kNever);
  EXPECT_EQ(deadline_after_ns(std::numeric_limits<std::uint64_t>::max()), kNever);
  // Just below the saturation point of steady_clock: still far in the future.
  EXPECT_GT(deadline_after_ns(std::uint64_t{1} << 63), Clock::now() + std::chrono::hours(24));
  EXPECT_GT(deadline_after(Timeout::max() - Timeout(1)), Clock::now() + std::chrono::hours(24));
}

TEST(Timeout, ZeroAndNegativeMeanNow) {
  // Each deadline is taken before the instant it is compared with.
  const Deadline before = Clock::now();
  const Deadline no_wait = deadline_after(kNoWait);
  const Deadline negative = deadline_after(Timeout(-5));
  const Deadline zero_ns = deadline_after_ns(0);
  const Deadline after = Clock::now();
  EXPECT_GE(no_wait, before);
  EXPECT_LE(no_wait, after);
  EXPECT_LE(negative, after);
  EXPECT_LE(zero_ns, after);
}

TEST(Timeout, OrdinaryTimeoutsAreAddedExactly) {
  const Deadline before = Clock::now();
  const Deadline deadline = deadline_after_ns(1'500'000'000);
  EXPECT_GE(deadline - before, std::chrono::milliseconds(1500));
  EXPECT_LT(deadline - before, std::chrono::milliseconds(1600));
}
