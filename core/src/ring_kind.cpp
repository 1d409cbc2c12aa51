// The ring's traits in the one object layer, its geometry, and what
// `shmring info` says about a ring.
#include <algorithm>

#include "kind_traits.hpp"
#include "ring_layout.hpp"

namespace shmring::ring {

namespace {

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t to) {
  return (value + to - 1) / to * to;
}

std::string describe_params(const object::Params &params) {
  return std::to_string(params.value[kSlotCount]) + " slots of " +
         std::to_string(params.value[kSlotSize]) + " bytes, user area of " +
         std::to_string(params.value[kUserSize]) + " bytes (schema version " +
         std::to_string(params.value[kUserVersion]) + ")";
}

bool sizes(const object::Params &params, std::uint64_t &control_size, std::uint64_t &payload_size) {
  Geometry g;
  if (!compute_geometry(params, g))
    return false;
  control_size = g.control_size;
  payload_size = g.payload_size;
  return true;
}

void describe(const object::Look &look, ObjectInfo &info) {
  Geometry g;
  compute_geometry(look.verdict.params, g);  // the verdict checked it
  info.slots = g.slot_count;
  info.slot_size = g.slot_size;
  ControlView view{const_cast<std::byte *>(look.control), g};  // only read here
  const RingControl *control = view.control();
  info.frames = control->write_seq.load();
  info.bytes_published = control->bytes_published.load();
  info.closed = control->writer_state.load() == static_cast<std::uint32_t>(WriterState::Closed);
  info.caps = read_caps(view, control->caps_id.load(std::memory_order_acquire)).value_or("");
  for (std::uint32_t i = 0; i < g.slot_count; ++i)
    info.slots_in_use += view.slot(i)->holders.load() != 0 ? 1 : 0;
  const object::Participants &participants = look.participants;
  for (std::uint32_t i = 0; i < kMaxParticipants; ++i) {
    if (!participants.active(i))
      continue;
    const RingReader *entry = view.reader(i);
    RingReaderInfo reader;
    reader.pid = participants.pid(i);
    reader.alive = participants.alive(i);
    reader.leaky = entry->policy.load() == static_cast<std::uint32_t>(ReaderPolicy::Leaky);
    reader.draining = entry->mode.load() == static_cast<std::uint32_t>(ReaderMode::Draining);
    reader.cursor = entry->cursor.load();
    reader.received = entry->received.load();
    reader.lost = entry->lost.load();
    info.drops += reader.lost;
    info.readers.push_back(reader);
  }
}

const object::KindTraits kTraits{ObjectKind::Ring, "ring",  kLayoutVersion, sizes,
                                 describe_params,  describe};
[[maybe_unused]] const bool registered = object::register_kind(kTraits);

}  // namespace

object::Params params_for(std::uint32_t slot_count, std::uint64_t slot_size,
                          const UserSchema &user) {
  object::Params params;
  params.value[kSlotCount] = slot_count;
  params.value[kSlotSize] = slot_size;
  params.value[kUserSize] = user.size;
  params.value[kUserVersion] = user.version;
  return params;
}

bool compute_geometry(const object::Params &params, Geometry &g) {
  const std::uint64_t slot_count = params.value[kSlotCount];
  const std::uint64_t slot_size = params.value[kSlotSize];
  if (slot_count < kMinSlots || slot_count > kMaxSlots || slot_size == 0 ||
      slot_size > kMaxSlotSize || params.value[kUserSize] > kMaxUserArea ||
      params.value[kUserVersion] > 0xffffffffu)
    return false;
  g = Geometry{};
  g.slot_count = static_cast<std::uint32_t>(slot_count);
  // Twice the slots: a blocking reader's unread sequences each pin a slot, so
  // its oldest descriptor can never be overwritten before it reads it.
  g.descriptor_count = 2 * g.slot_count;
  g.slot_size = slot_size;
  g.slot_stride = round_up(slot_size, kPageSize);
  g.user.size = static_cast<std::uint32_t>(params.value[kUserSize]);
  g.user.version = static_cast<std::uint32_t>(params.value[kUserVersion]);
  g.meta_stride = round_up(sizeof(SlotMeta) + g.user.size, kCacheLine);

  std::uint64_t at = sizeof(RingControl);
  g.descriptors_offset = round_up(at, kCacheLine);
  at = g.descriptors_offset + sizeof(Descriptor) * g.descriptor_count;
  g.slots_offset = round_up(at, kCacheLine);
  at = g.slots_offset + g.meta_stride * g.slot_count;
  g.caps_offset = round_up(at, kCacheLine);
  g.control_size = g.caps_offset + sizeof(CapsEntry) * kCapsEntries;
  g.payload_size = g.slot_stride * g.slot_count;  // < 2^43: no overflow
  return true;
}

void init_control(const ControlView &view) {
  RingControl *control = view.control();
  control->writer_state.store(static_cast<std::uint32_t>(WriterState::Running));
  control->writer_latency.store(kNoTime);
  for (std::uint32_t i = 0; i < view.geometry.descriptor_count; ++i)
    view.descriptor(i)->seq.store(kNoSequence, std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < view.geometry.slot_count; ++i)
    view.slot(i)->seq.store(kNoSequence, std::memory_order_relaxed);
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

}  // namespace shmring::ring
