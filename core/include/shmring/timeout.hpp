// How long a call that may block is allowed to wait.
#pragma once

#include <chrono>

namespace shmring {

using Timeout = std::chrono::nanoseconds;

// Wait as long as it takes.
constexpr Timeout kWaitForever = Timeout::max();
// Do not wait at all: succeed now or report that it would block.
constexpr Timeout kNoWait = Timeout::zero();

}  // namespace shmring
