// Caps, tag lists and custom events travel through the ring as text that
// another process wrote. These turn that text back into GStreamer objects,
// or refuse it; nothing here trusts the text to be well formed.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <string>

#include "ring_record.h"

namespace shmring::gst {

// Caps from text another process wrote; null when it is not caps.
// gst_caps_from_string() meets some malformed text (a structure name that
// starts with a digit, an empty one) with a critical warning, fatal under
// G_DEBUG=fatal-criticals: that text is refused before it gets there.
GstCaps *caps_from_text(const char *text);

// Fixed caps from a caps table entry; null when the text is not fixed caps.
GstCaps *caps_from_ring_text(const std::string &text);

// The downstream event that a Tags or Event record carries (`size` bytes at
// `data`, not NUL-terminated); null when its text does not parse.
GstEvent *event_from_ring_record(const RecordInfo &info, const void *data, std::size_t size);

}  // namespace shmring::gst
