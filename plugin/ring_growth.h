// How shmringsink grows its ring when the stream outgrows the slots (padded
// decoder output, caps that change to bigger frames), with `slot-size` left
// at 0. The writer gives up the name, creates a ring of bigger slots under
// it, publishes a RecordKind::Moved record as the old ring's last, and waits
// (bounded by its timeout) until every blocking reader of the old ring has
// attached to the new one before publishing there: they lose nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "shmring/writer.hpp"

namespace shmring::gst {

// The slot size to grow to for a record of `needed` bytes: whole pages, and
// for streams whose size is not known from caps (encoded, bytes), at least
// twice the current size, so that a stream creeping upwards grows a few
// times, not once per frame. Never above the core's largest slot.
std::uint64_t grown_slot_size(std::uint64_t current, std::uint64_t needed, bool sized_by_caps);

// The readers a move waits for: the blocking ones, by process (leaky readers
// never hold the writer up, and catch up at the newest frame).
std::vector<pid_t> followers_expected(const std::vector<ReaderInfo> &old_readers);

// Whether every expected follower has attached to the new ring: each
// process has at least as many readers there as it had blocking ones in the
// old ring. (Pids are only matched here, never trusted for liveness: a
// clash can only end the wait early.)
bool followers_attached(const std::vector<pid_t> &expected,
                        const std::vector<ReaderInfo> &new_readers);

}  // namespace shmring::gst
