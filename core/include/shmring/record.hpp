// What the core carries with each record of a ring besides its payload: a
// small fixed header, and an opaque user area whose layout and version
// belong to the application (the GStreamer plugin keeps its timestamps,
// offsets, video layout and metas there). The core never interprets the
// user area, so a new application field never changes the core's ABI.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmring {

// "No time" (all ones), as GStreamer's GST_CLOCK_TIME_NONE.
constexpr std::uint64_t kNoTime = ~std::uint64_t{0};

// The largest user area a ring may carry per record.
constexpr std::size_t kMaxUserArea = 1024;

struct RecordHeader {
  std::uint32_t kind = 0;     // the application's record kind; opaque to the core
  std::uint32_t flags = 0;    // the application's flags; opaque to the core
  std::uint64_t size = 0;     // payload bytes, at most the slot size
  std::uint64_t caps_id = 0;  // an id from Writer::set_caps, 0: none
  // CLOCK_MONOTONIC (ns) when the writer published the record: set by the
  // core, whatever the caller put here.
  std::uint64_t publish_time = kNoTime;
};
static_assert(sizeof(RecordHeader) == 32, "part of the ring's shared layout");
static_assert(offsetof(RecordHeader, size) == 8);
static_assert(offsetof(RecordHeader, caps_id) == 16);
static_assert(offsetof(RecordHeader, publish_time) == 24);

// The schema of a ring's user area, fixed when the ring is created: a reader
// that expects another is told "other version", never handed bytes it would
// misread.
struct UserSchema {
  std::uint32_t version = 0;  // the application's own version number
  std::uint32_t size = 0;     // bytes per record, at most kMaxUserArea
};

}  // namespace shmring
