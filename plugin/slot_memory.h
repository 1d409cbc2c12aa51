// A reader's hold on a ring slot, as an RAII object, and GstMemory over a
// slot: read-only, no copy, and the slot goes back to the ring when the
// memory is freed, from whatever thread frees it.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "shmring/reader.hpp"

namespace shmring::gst {

// What every wrapped slot of one reader shares: the reader (which keeps the
// mapping alive past the element's stop) and how many slots are out.
struct ReaderLink {
  std::shared_ptr<Reader> reader;
  std::atomic<guint> slots_out{0};
};

// The hold on the slot of a frame that next() returned. Released when the
// SlotHold goes out of scope, unless it was handed over to a GstMemory.
class SlotHold {
 public:
  SlotHold(std::shared_ptr<ReaderLink> link, const Frame &frame)
      : link_(std::move(link)), slot_(frame.slot), data_(frame.data), size_(frame.record.size) {}
  ~SlotHold() { release(); }
  SlotHold(const SlotHold &) = delete;
  SlotHold &operator=(const SlotHold &) = delete;

  // Gives the slot back to the ring now (idempotent).
  void release();
  // Hands the hold over to a read-only GstMemory over the slot's bytes; the
  // slot is released when the memory is freed.
  GstMemory *wrap();
  // A copy of the slot's bytes; the slot is released.
  GstMemory *copy();

 private:
  std::shared_ptr<ReaderLink> link_;  // null once released or handed over
  std::uint32_t slot_;
  const std::byte *data_;
  std::uint64_t size_;
};

}  // namespace shmring::gst
