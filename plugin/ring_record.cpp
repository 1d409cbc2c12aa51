#include "ring_record.h"

#include <cstring>

namespace shmring::gst {

RecordHeader header_of(const RecordInfo &info) {
  RecordHeader header;
  header.kind = static_cast<std::uint32_t>(info.kind);
  header.flags = info.flags;
  header.size = info.size;
  header.caps_id = info.caps_id;
  return header;
}

bool record_of(const Frame &frame, RecordInfo &out) {
  const std::uint32_t kind = frame.record.kind;
  if (kind < static_cast<std::uint32_t>(RecordKind::Buffer) ||
      kind > static_cast<std::uint32_t>(RecordKind::Moved))
    return false;
  out.kind = static_cast<RecordKind>(kind);
  out.flags = frame.record.flags;
  out.size = frame.record.size;
  out.caps_id = frame.record.caps_id;
  out.publish_time = frame.record.publish_time;
  std::memcpy(static_cast<void *>(&out.meta), frame.user, sizeof out.meta);
  if (out.meta.n_references > kMaxReferenceTimestamps || out.meta.video.n_planes > kMaxPlanes)
    return false;
  for (std::uint32_t p = 0; p < out.meta.video.n_planes; ++p) {
    if (out.meta.video.plane_offset[p] > out.size)
      return false;
  }
  return true;
}

}  // namespace shmring::gst
