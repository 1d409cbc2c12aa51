// libFuzzer target: arbitrary bytes as one record that another process
// wrote into a ring, through everything shmringsrc does with it once the core
// has handed it over: the record's fields (record_of), the caps text
// (caps_from_ring_text), the video layout applied to the payload
// (apply_record, has_default_layout, packed_copy), reference timestamps,
// and the text of tag lists and custom events (event_from_ring_record).
// A crash, an out-of-bounds access (ASan) or undefined behaviour (UBSan) is
// a finding. The input format is in record_input.hpp.
//
// SHMRING_FUZZ_VERBOSE=1 ./fuzz-records FILE says what became of an input.
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <cstdlib>

#include "buffer_record.h"
#include "record_input.hpp"
#include "reference_timestamps.h"
#include "ring_text.h"

namespace {

bool verbose() {
  static const bool on = std::getenv("SHMRING_FUZZ_VERBOSE") != nullptr;
  return on;
}

void say(const char *what) {
  if (verbose())
    std::fprintf(stderr, "%s\n", what);
}

// Reads every byte of every plane, as downstream would.
void touch(GstBuffer *buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return;
  unsigned sum = 0;
  for (gsize i = 0; i < map.size; i += 64)
    sum += map.data[i];
  if (map.size)
    sum += map.data[map.size - 1];
  (void)sum;
  gst_buffer_unmap(buffer, &map);
}

void take_buffer(const shmring::fuzz::RecordInput &input, const shmring::gst::RecordInfo &info) {
  GstCaps *caps = shmring::gst::caps_from_ring_text(input.caps_text);
  GstVideoInfo video_info;
  const bool video = caps && shmring::gst::raw_video_info(caps, video_info);
  if (verbose())
    std::fprintf(stderr, "caps %s\n", caps ? (video ? "video" : "other") : "refused");
  GstBuffer *buffer = input.frame.record.size
                          ? gst_buffer_new_memdup(input.frame.data, input.frame.record.size)
                          : gst_buffer_new();
  if (!shmring::gst::apply_record(info, video ? &video_info : nullptr, buffer)) {
    say("layout refused");
  } else {
    if (video && !shmring::gst::has_default_layout(info, video_info)) {
      say("layout padded: repacked");
      if (GstBuffer *packed = shmring::gst::packed_copy(buffer, video_info)) {
        touch(packed);
        gst_buffer_unref(packed);
      }
    } else if (verbose()) {
      std::fprintf(stderr, "layout applied (%u planes)\n", info.meta.video.n_planes);
    }
    shmring::gst::apply_reference_timestamps(info, buffer);
    touch(buffer);
  }
  gst_buffer_unref(buffer);
  if (caps)
    gst_caps_unref(caps);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // No plugins are needed to parse caps, tags and structures: skip the
  // registry, which would otherwise be scanned and written.
  setenv("GST_REGISTRY_DISABLE", "yes", 1);
  gst_init(nullptr, nullptr);
  // A critical warning is GLib's word for a broken precondition: what text
  // from another process must never reach. Abort (libFuzzer keeps the input).
  g_log_set_default_handler(
      [](const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer) {
        g_log_default_handler(domain, level, message, nullptr);
        if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
          std::abort();
      },
      nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  shmring::fuzz::RecordInput input;
  if (!shmring::fuzz::decode_record_input(data, size, input))
    return 0;
  shmring::gst::RecordInfo info;
  if (!shmring::gst::record_of(input.frame, info)) {
    say("record refused");
    return 0;
  }
  switch (info.kind) {
    case shmring::gst::RecordKind::Buffer: take_buffer(input, info); break;
    case shmring::gst::RecordKind::Eos: say("eos"); break;
    case shmring::gst::RecordKind::Moved: say("moved"); break;
    case shmring::gst::RecordKind::Event:
    case shmring::gst::RecordKind::Tags:
      if (GstEvent *event =
              shmring::gst::event_from_ring_record(info, input.frame.data, info.size)) {
        if (verbose())
          std::fprintf(stderr, "event %s\n", GST_EVENT_TYPE_NAME(event));
        gst_event_unref(event);
      } else {
        say("event refused");
      }
      break;
  }
  return 0;
}
