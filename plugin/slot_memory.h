// GstMemory over a ring slot: read-only, no copy, and the slot goes back to
// the ring when the memory is freed, from whatever thread frees it.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>

#include "shmring/reader.hpp"

namespace shmring::gst {

// What every wrapped slot of one reader shares: the reader (which keeps the
// mapping alive past the element's stop) and how many slots are out.
struct ReaderLink {
  std::shared_ptr<Reader> reader;
  std::atomic<guint> slots_out{0};
};

// Takes over the hold on frame.slot.
GstMemory *wrap_slot(const std::shared_ptr<ReaderLink> &link, const Frame &frame);

}  // namespace shmring::gst
