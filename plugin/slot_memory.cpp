#include "slot_memory.h"

#include <utility>

namespace shmring::gst {

namespace {

struct WrappedSlot {
  std::shared_ptr<ReaderLink> link;
  std::uint32_t slot;
};

void release_wrapped(gpointer data) {
  auto *wrapped = static_cast<WrappedSlot *>(data);
  wrapped->link->reader->release(wrapped->slot);
  wrapped->link->slots_out.fetch_sub(1);
  delete wrapped;
}

}  // namespace

void SlotHold::release() {
  if (std::shared_ptr<ReaderLink> link = std::exchange(link_, nullptr))
    link->reader->release(slot_);
}

GstMemory *SlotHold::wrap() {
  std::shared_ptr<ReaderLink> link = std::exchange(link_, nullptr);
  link->slots_out.fetch_add(1);
  auto *wrapped = new WrappedSlot{std::move(link), slot_};
  // The mapping is read-only: a downstream element that wants to write gets
  // a copy from GStreamer's usual copy-on-write path.
  auto *bytes = const_cast<std::byte *>(data_);
  return gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, bytes, size_, 0, size_, wrapped,
                                release_wrapped);
}

GstMemory *SlotHold::copy() {
  GstMemory *memory = gst_allocator_alloc(nullptr, size_, nullptr);
  GstMapInfo map;
  if (gst_memory_map(memory, &map, GST_MAP_WRITE)) {
    memcpy(map.data, data_, size_);
    gst_memory_unmap(memory, &map);
  }
  release();
  return memory;
}

}  // namespace shmring::gst
