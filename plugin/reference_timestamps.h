// GstReferenceTimestampMeta across the ring. GStreamer 1.22 has no generic
// meta serialization, so shmring carries a whitelist of metas, each with a
// fixed place in the record:
//   - GstVideoMeta (the frame's layout; buffer_record.h);
//   - GstReferenceTimestampMeta: up to kMaxReferenceTimestamps per buffer,
//     whose reference caps serialize to at most 55 characters (e.g.
//     "timestamp/x-ntp", "timestamp/x-unix"). Others are left out (the
//     sink logs how many). Their timestamps are carried unchanged: they are on the
//     reference clock, never mapped like the buffer's own.
// Every other meta stays in the writer's process.
#pragma once

#include <gst/gst.h>

#include "ring_record.h"

namespace shmring::gst {

// Returns how many reference timestamp metas did not fit the whitelist.
unsigned describe_reference_timestamps(GstBuffer *buffer, RecordInfo &info);

// The record came from another process: an entry whose caps text is not
// NUL-terminated or does not parse is skipped.
void apply_reference_timestamps(const RecordInfo &info, GstBuffer *buffer);

}  // namespace shmring::gst
