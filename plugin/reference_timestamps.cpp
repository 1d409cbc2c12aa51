#include "reference_timestamps.h"

#include <cstring>

#include "ring_text.h"

namespace shmring::gst {

unsigned describe_reference_timestamps(GstBuffer *buffer, RecordInfo &info) {
  info.meta.n_references = 0;
  unsigned left_out = 0;
  gpointer state = nullptr;
  while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                          GST_REFERENCE_TIMESTAMP_META_API_TYPE)) {
    auto *reference = reinterpret_cast<GstReferenceTimestampMeta *>(meta);
    gchar *caps = gst_caps_to_string(reference->reference);
    const std::size_t length = std::strlen(caps);
    if (info.meta.n_references < kMaxReferenceTimestamps && length < kReferenceCapsCapacity) {
      ReferenceTimestamp &entry = info.meta.references[info.meta.n_references++];
      std::memset(entry.caps, 0, sizeof entry.caps);
      std::memcpy(entry.caps, caps, length);
      entry.timestamp = reference->timestamp;
      entry.duration = reference->duration;
    } else {
      ++left_out;
    }
    g_free(caps);
  }
  return left_out;
}

void apply_reference_timestamps(const RecordInfo &info, GstBuffer *buffer) {
  for (std::uint32_t i = 0; i < info.meta.n_references && i < kMaxReferenceTimestamps; ++i) {
    const ReferenceTimestamp &entry = info.meta.references[i];
    // Another process wrote the entry: text that is not NUL-terminated, or
    // no timestamp (which GStreamer refuses with a critical warning), is
    // left out.
    if (!std::memchr(entry.caps, '\0', sizeof entry.caps) || entry.timestamp == GST_CLOCK_TIME_NONE)
      continue;
    GstCaps *caps = caps_from_text(entry.caps);
    if (!caps)
      continue;
    gst_buffer_add_reference_timestamp_meta(buffer, caps, entry.timestamp, entry.duration);
    gst_caps_unref(caps);
  }
}

}  // namespace shmring::gst
