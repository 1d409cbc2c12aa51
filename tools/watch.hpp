// `shmring watch`: a live view of the rings, refreshed every second: per
// ring its writer, frames and megabytes per second and readers; per reader
// its policy, lag in frames, frames lost and received.
#pragma once

namespace shmring::tool {

// Redraws every `interval_ms` until interrupted, or `count` times (0: no
// end). Clears the screen between views only on a terminal.
int watch(unsigned interval_ms, unsigned count);

}  // namespace shmring::tool
