// A GstBufferPool whose buffers are ring slots, so upstream writes its frame
// straight into shared memory and shmringsink only publishes it.
//
// Each acquire lends a fresh slot from the writer (never one a reader holds
// or has yet to read); a buffer is never recycled: when it comes back
// unpublished its slot goes back to the ring, and once published the slot
// belongs to the readers.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <memory>

#include "shmring/writer.hpp"

namespace shmring::gst {

struct PoolLimit;

// What a pool buffer's memory knows about its slot.
struct SlotLease {
  std::shared_ptr<Writer> writer;
  WritableSlot slot;
  std::shared_ptr<PoolLimit> limit;  // counts this lease while it lasts
  std::atomic<bool> published{false};
};

// The lease of `buffer` if it is a single memory lent by a slot pool of
// `writer` and not published yet; null otherwise (then the sink copies).
SlotLease *unpublished_lease_of(GstBuffer *buffer, const Writer *writer);

// Publishes a leased slot where it lies. Its place in the pool comes back at
// once, not when the GstBuffer is freed: GstBaseSink keeps the last buffer
// (last-sample), and a pool of few slots would wait for it forever.
void publish_lease(SlotLease &lease, const RecordHeader &record, const void *user);

// `element` receives the error when no slot comes free in time; upstream's
// acquires wait as the sink's own do (`timeout`, `at_deadline`).
GstBufferPool *slot_pool_new(std::shared_ptr<Writer> writer, GstElement *element,
                             GstClockTime timeout, AtDeadline at_deadline);

}  // namespace shmring::gst
