#include "slot_memory.h"

namespace shmring::gst {

namespace {

struct SlotHold {
  std::shared_ptr<ReaderLink> link;
  std::uint32_t slot;
};

void release_slot(gpointer data) {
  auto *hold = static_cast<SlotHold *>(data);
  hold->link->reader->release(hold->slot);
  hold->link->slots_out.fetch_sub(1);
  delete hold;
}

}  // namespace

GstMemory *wrap_slot(const std::shared_ptr<ReaderLink> &link, const Frame &frame) {
  link->slots_out.fetch_add(1);
  auto *hold = new SlotHold{link, frame.slot};
  // The mapping is read-only: a downstream element that wants to write gets
  // a copy from GStreamer's usual copy-on-write path.
  auto *bytes = const_cast<std::byte *>(frame.data);
  return gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, bytes, frame.info.size, 0,
                                frame.info.size, hold, release_slot);
}

}  // namespace shmring::gst
