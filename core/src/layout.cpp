#include "layout.hpp"

namespace shmring::layout {

namespace {
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t to) {
  return (value + to - 1) / to * to;
}
}  // namespace

bool compute_geometry(std::uint32_t slot_count, std::uint64_t slot_size, Geometry &g) {
  if (slot_count < kMinSlots || slot_count > kMaxSlots || slot_size == 0 ||
      slot_size > kMaxSlotSize)
    return false;
  g = Geometry{};
  g.slot_count = slot_count;
  // Twice the slots: a blocking reader's unread sequences each pin a slot, so
  // its oldest descriptor can never be overwritten before it reads it.
  g.descriptor_count = 2 * slot_count;
  g.slot_size = slot_size;
  // Page-aligned payloads: video planes and read-only mappings want it.
  g.slot_stride = round_up(slot_size, kPageSize);

  std::uint64_t at = round_up(sizeof(Header), kCacheLine);
  g.readers_offset = at;
  at += sizeof(ReaderEntry) * kMaxReaders;
  g.descriptors_offset = round_up(at, kCacheLine);
  at = g.descriptors_offset + sizeof(Descriptor) * g.descriptor_count;
  g.slots_offset = round_up(at, kCacheLine);
  at = g.slots_offset + sizeof(SlotMeta) * slot_count;
  g.caps_offset = round_up(at, kCacheLine);
  at = g.caps_offset + sizeof(CapsEntry) * kCapsEntries;
  g.control_size = round_up(at, kPageSize);
  g.total_size = g.control_size + g.slot_stride * slot_count;  // < 2^43: no overflow
  return true;
}

void write_header_fields(Header &header, const Geometry &geometry, std::int32_t writer_pid,
                         std::uint64_t writer_start_time) {
  header.magic = kMagic;
  header.abi_version = kAbiVersion;
  header.header_size = sizeof(Header);
  header.total_size = geometry.total_size;
  header.control_size = geometry.control_size;
  header.slot_count = geometry.slot_count;
  header.descriptor_count = geometry.descriptor_count;
  header.slot_size = geometry.slot_size;
  header.slot_stride = geometry.slot_stride;
  header.max_readers = kMaxReaders;
  header.caps_entries = kCapsEntries;
  header.caps_capacity = kCapsCapacity;
  header.writer_pid = writer_pid;
  header.writer_start_time = writer_start_time;
}

std::optional<std::string> read_caps(const ControlView &view, std::uint64_t id) {
  if (id == 0)
    return std::nullopt;
  const CapsEntry *entry = view.caps(id);
  if (entry->id.load(std::memory_order_acquire) != id)
    return std::nullopt;
  const std::uint32_t length = entry->length.load(std::memory_order_relaxed);
  if (length > kCapsCapacity)
    return std::nullopt;
  std::string text(entry->text, length);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (entry->id.load(std::memory_order_relaxed) != id)
    return std::nullopt;  // rewritten while we copied
  return text;
}

}  // namespace shmring::layout
