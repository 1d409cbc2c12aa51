// The plugin's record schema: what travels with each buffer or event besides
// its bytes. It lives in the core record's opaque user area (versioned by
// kRecordSchema), so a field added here changes the plugin's schema version,
// never the core's ABI; a reader of another schema version is told "other
// version" when it opens the ring.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shmring/reader.hpp"
#include "shmring/record.hpp"

namespace shmring::gst {

enum class RecordKind : std::uint32_t {
  Buffer = 1,  // a media buffer: payload is its bytes
  Eos = 2,     // end of stream: no payload
  Event = 3,   // a serialized custom downstream event: payload is its text
  Tags = 4,    // a tag event: payload is the tag list's text, flags its scope
  // The last record of a ring the writer outgrew: its successor, of bigger
  // slots, is under the same name now. No payload; `size` is 0 and the
  // flags hold nothing. Readers reopen the name and go on.
  Moved = 5,
};

constexpr std::uint64_t kNoOffset = ~std::uint64_t{0};
constexpr unsigned kMaxPlanes = 4;

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

// The user area of every record: schema version 1.
struct BufferMeta {
  std::uint64_t pts = kNoTime;
  std::uint64_t dts = kNoTime;
  std::uint64_t duration = kNoTime;
  std::uint64_t offset = kNoOffset;
  std::uint64_t offset_end = kNoOffset;
  // Absolute clock time of the PTS on the writer (running time + base
  // time) as CLOCK_MONOTONIC: a reader maps it to its own running time.
  std::uint64_t clock_time = kNoTime;
  VideoLayout video;
  std::uint32_t n_references = 0;
  std::uint32_t reserved = 0;
  ReferenceTimestamp references[kMaxReferenceTimestamps];
};
static_assert(sizeof(ReferenceTimestamp) == 72);
static_assert(sizeof(VideoLayout) == 64);
static_assert(offsetof(BufferMeta, clock_time) == 40);
static_assert(offsetof(BufferMeta, video) == 48);
static_assert(offsetof(BufferMeta, n_references) == 112);
static_assert(offsetof(BufferMeta, references) == 120);
static_assert(sizeof(BufferMeta) == 264, "the shared schema: change kRecordSchema with it");

constexpr UserSchema kRecordSchema{1, sizeof(BufferMeta)};

// One record as the elements handle it: the core's header fields and ours.
struct RecordInfo {
  RecordKind kind = RecordKind::Buffer;
  std::uint32_t flags = 0;  // GstBufferFlags as written; a tag list's scope
  std::uint64_t size = 0;
  std::uint64_t caps_id = 0;
  std::uint64_t publish_time = kNoTime;  // set by the core at publish
  BufferMeta meta;
};

RecordHeader header_of(const RecordInfo &info);

// The record of a frame read from the ring. Another process wrote it: false
// when it is implausible (unknown kind, plane or meta counts beyond what the
// schema holds, a plane outside the payload).
bool record_of(const Frame &frame, RecordInfo &out);

}  // namespace shmring::gst
