// What travels with each entry of the ring besides its payload bytes. The core
// does not interpret timestamps or flags; it only carries them. GStreamer's
// "none" value for times is all ones, which is also kNoTime here.
#pragma once

#include <cstdint>

namespace shmring {

constexpr std::uint64_t kNoTime = ~std::uint64_t{0};
constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};
constexpr unsigned kMaxPlanes = 4;

enum class RecordKind : std::uint32_t {
  Buffer = 1,  // a media buffer: payload is its bytes
  Eos = 2,     // end of stream: no payload
  Event = 3,   // a serialized downstream event: payload is its text
  Tags = 4,    // a tag event: payload is the tag list's text, flags its scope
};

// GstReferenceTimestampMeta, carried as is (never mapped: it is on another
// clock by definition). The caps name that clock, e.g. "timestamp/x-ntp".
constexpr unsigned kMaxReferenceTimestamps = 2;
constexpr unsigned kReferenceCapsCapacity = 56;  // NUL included

struct ReferenceTimestamp {
  char caps[kReferenceCapsCapacity] = {};
  std::uint64_t timestamp = kNoTime;
  std::uint64_t duration = kNoTime;
};

// The layout of a raw video frame inside the payload, so that padded strides
// survive the trip. Zero planes means "no video meta".
struct VideoLayout {
  std::uint32_t format = 0;  // GstVideoFormat value
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t n_planes = 0;
  std::uint64_t plane_offset[kMaxPlanes] = {};
  std::int32_t stride[kMaxPlanes] = {};
};

struct RecordInfo {
  RecordKind kind = RecordKind::Buffer;
  std::uint32_t flags = 0;  // GstBufferFlags as written
  std::uint64_t size = 0;   // payload bytes
  std::uint64_t pts = kNoTime;
  std::uint64_t dts = kNoTime;
  std::uint64_t duration = kNoTime;
  std::uint64_t offset = kNoOffset;
  std::uint64_t offset_end = kNoOffset;
  // Absolute clock time of the PTS on the writer (running time + base time);
  // lets a reader on the same system clock map it to its own running time.
  std::uint64_t clock_time = kNoTime;
  // CLOCK_MONOTONIC when the writer published the record (set by the core):
  // the instant the buffer arrived in the ring, whenever a reader reads it.
  std::uint64_t publish_time = kNoTime;
  std::uint64_t caps_id = 0;  // 0: no caps set
  VideoLayout video;
  std::uint32_t n_references = 0;
  std::uint32_t reserved = 0;
  ReferenceTimestamp references[kMaxReferenceTimestamps];
};

}  // namespace shmring
