// Translation between a GstBuffer and the record that travels with its bytes:
// timestamps, offsets, flags and the video layout.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "ring_record.h"

namespace shmring::gst {

// Fills `info` from raw video caps; false (and no log noise) for other caps.
bool raw_video_info(GstCaps *caps, GstVideoInfo &info);

// Fills everything but kind, size, clock_time and caps_id from the buffer.
void describe_buffer(GstBuffer *buffer, RecordInfo &info);

// Copies offsets, flags and the video layout of a record onto a buffer.
// Timestamps are the caller's: they depend on the timestamp mode.
// The layout was written by another process: it is attached only if it
// agrees with the caps (`video_info`, null for non-video) and every plane
// lies inside the buffer. Returns false for a layout that does not.
bool apply_record(const RecordInfo &info, const GstVideoInfo *video_info, GstBuffer *buffer);

// True when the record's planes sit where GstVideoInfo puts them by default
// (or it has no layout): then downstream needs no video meta to read it.
bool has_default_layout(const RecordInfo &info, const GstVideoInfo &video_info);

// A copy of a frame described by its video meta, with the default layout of
// `video_info`; null if the frame cannot be mapped.
GstBuffer *packed_copy(GstBuffer *strided, const GstVideoInfo &video_info);

}  // namespace shmring::gst
