// How shmringsink grows its ring when the stream outgrows the slots (padded
// decoder output, caps that change to bigger frames), with `slot-size` left
// at 0. The writer gives up the name, creates a ring of bigger slots under
// it, publishes a RecordKind::Moved record as the old ring's last, and waits
// until every blocking reader of the old ring has attached to the new one
// before publishing there: they lose nothing. (The sink's grow_ring.)
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

// A reader the move waits for: known by its identity (ReaderOptions::
// identity, the same in both rings), or by pid for a reader that gave none.
struct Follower {
  std::uint64_t identity = 0;
  pid_t pid = 0;
};

// The readers a move waits for: the blocking ones (leaky readers never hold
// the writer up, and catch up at the newest frame).
std::vector<Follower> followers_expected(const std::vector<ReaderInfo> &old_readers);

// Those of `expected` not (yet) among `readers`. Readers without an identity
// are matched by pid, one for one (a clash can only end a wait early).
std::vector<Follower> followers_missing(const std::vector<Follower> &expected,
                                        const std::vector<ReaderInfo> &readers);

// Those of `expected` that are among `readers` (matched as above).
std::vector<Follower> followers_among(const std::vector<Follower> &expected,
                                      const std::vector<ReaderInfo> &readers);

// Sum of the records the readers have read: while it grows, the readers
// still draining the old ring are moving, and are waited for.
std::uint64_t records_read(const std::vector<ReaderInfo> &readers);

}  // namespace shmring::gst
