// The control block of a broadcast ring, after the common object header
// (named_object.hpp). Everything either side may change after creation is a
// lock-free std::atomic (address-free, so valid across processes); geometry
// is in the common header's params, written once before `ready`.
//
//   [ RingControl | Descriptor x D | SlotMeta x N | CapsEntry x C ]   control
//   [ payload of slot 0 | slot 1 | ... ]                               payload (page aligned)
//
// Sequence number s (64-bit, never wraps) is published in descriptor s % D,
// which names the slot holding it. Slots are not tied to s % N, so a slot
// that a reader still holds is skipped rather than waited for. Readers are
// the object's participants: reader r is participant entry r, its ring
// state RingReader r, its hold on a slot bit r of the slot's holder mask.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "named_object.hpp"
#include "shmring/record.hpp"
#include "shmring/writer.hpp"

namespace shmring::ring {

using object::kCacheLine;
using object::kMaxParticipants;
using object::kPageSize;

constexpr std::uint32_t kLayoutVersion = 1;  // of everything in this file
constexpr std::uint32_t kCapsEntries = 8;    // caps ids in flight at once
constexpr std::uint32_t kCapsCapacity = 16 * 1024 - 16;
constexpr std::uint32_t kMinSlots = 2;
constexpr std::uint32_t kMaxSlots = 1024;
using shmring::kMaxSlotSize;

// Sequence values with a meaning of their own in SlotMeta::seq / Descriptor::seq.
constexpr std::uint64_t kNoSequence = ~std::uint64_t{0};
constexpr std::uint64_t kBeingWritten = ~std::uint64_t{0} - 1;

enum class WriterState : std::uint32_t { Running = 1, Closed = 2 };
enum class ReaderMode : std::uint32_t {
  Reading = 0,   // with policy Block its cursor holds the writer back
  Draining = 1,  // stopped reading; only its held slots remain
};
enum class ReaderPolicy : std::uint32_t { Block = 0, Leaky = 1 };

struct alignas(kCacheLine) RingReader {
  std::atomic<std::uint32_t> mode;
  std::atomic<std::uint32_t> policy;
  std::atomic<std::uint64_t> cursor;  // next sequence this reader will read
  std::atomic<std::uint64_t> received;
  std::atomic<std::uint64_t> lost;
  // ReaderOptions::identity. Added in the entry's spare bytes: a reader of
  // an earlier build leaves it 0 (no identity), which writers allow for.
  std::atomic<std::uint64_t> identity;
  // The reader's CPU as of its latest read (same_cpu.hpp's tag: CPU + 1,
  // 0 unknown), in the entry's spare bytes too.
  std::atomic<std::uint32_t> cpu;
};

struct alignas(kCacheLine) RingControl {
  // Writer-hot: one cache line, written on every publish.
  std::atomic<std::uint64_t> write_seq;     // next sequence to publish
  std::atomic<std::uint32_t> data_word;     // futex readers sleep on
  std::atomic<std::uint32_t> data_waiters;  // readers inside futex_wait
  std::atomic<std::uint32_t> writer_state;
  // The writer's CPU as of its latest publish (same_cpu.hpp's tag: CPU + 1,
  // 0 unknown). In what was a reserved word: an older writer leaves it 0.
  std::atomic<std::uint32_t> writer_cpu;
  std::atomic<std::uint64_t> caps_id;  // newest caps id
  // The writer pipeline's latency (ns) as its sink was told, kNoTime until
  // known: readers add it to their own for the LATENCY query.
  std::atomic<std::uint64_t> writer_latency;
  // Payload bytes published so far (for `shmring watch`). It sits in what
  // was padding: a ring of an older writer reads 0.
  std::atomic<std::uint64_t> bytes_published;

  // Reader-hot: bumped when a reader frees a slot or advances its cursor.
  alignas(kCacheLine) std::atomic<std::uint32_t> space_word;  // futex the writer sleeps on
  std::atomic<std::uint32_t> space_waiters;

  alignas(kCacheLine) RingReader readers[kMaxParticipants];
};

struct Descriptor {
  std::atomic<std::uint64_t> seq;  // sequence published here, kNoSequence while changing
  std::atomic<std::uint32_t> slot;
  std::uint32_t reserved;
};

// The record is plain data: the writer fills it (and the user area that
// follows it) while seq == kBeingWritten and no reader holds the slot;
// readers copy it out after they have set their holder bit and seen seq
// unchanged, then validate the copy.
struct alignas(kCacheLine) SlotMeta {
  std::atomic<std::uint64_t> seq;
  std::atomic<std::uint64_t> holders;  // bit r: reader r still uses this payload
  RecordHeader record;
  // UserSchema::size bytes of user area follow, then padding to kCacheLine.
  std::byte *user() { return reinterpret_cast<std::byte *>(this + 1); }
};

struct CapsEntry {
  std::atomic<std::uint64_t> id;  // 0 while being written (a seqlock)
  std::atomic<std::uint32_t> length;
  std::uint32_t reserved;
  char text[kCapsCapacity];
};

static_assert(offsetof(RingControl, write_seq) == 0);
static_assert(offsetof(RingControl, writer_latency) == 32);
static_assert(offsetof(RingControl, bytes_published) == 40);
static_assert(offsetof(RingControl, space_word) == 64);
static_assert(offsetof(RingControl, readers) == 128);
static_assert(sizeof(RingReader) == 64);
static_assert(sizeof(RingControl) == 128 + 64 * kMaxParticipants);
static_assert(sizeof(Descriptor) == 16);
static_assert(offsetof(SlotMeta, record) == 16);
static_assert(sizeof(SlotMeta) == 64);
static_assert(sizeof(CapsEntry) == 16 * 1024);

// The ring's params in the common header: slot count, slot size, and the
// user schema.
enum Param { kSlotCount = 0, kSlotSize = 1, kUserSize = 2, kUserVersion = 3 };

// Where everything sits inside the control block, derived from the params
// alone. Offsets are from the start of the control block.
struct Geometry {
  std::uint32_t slot_count = 0;
  std::uint32_t descriptor_count = 0;
  std::uint64_t slot_size = 0;
  std::uint64_t slot_stride = 0;  // distance between two payloads
  UserSchema user;
  std::uint64_t meta_stride = 0;  // distance between two SlotMetas
  std::uint64_t descriptors_offset = 0;
  std::uint64_t slots_offset = 0;
  std::uint64_t caps_offset = 0;
  std::uint64_t control_size = 0;
  std::uint64_t payload_size = 0;
};

object::Params params_for(std::uint32_t slot_count, std::uint64_t slot_size,
                          const UserSchema &user);
// False when a value is out of range.
bool compute_geometry(const object::Params &params, Geometry &out);

// Typed views of one mapping of the control block.
struct ControlView {
  std::byte *base = nullptr;  // the control block
  Geometry geometry;

  RingControl *control() const { return reinterpret_cast<RingControl *>(base); }
  RingReader *reader(std::uint32_t i) const { return &control()->readers[i]; }
  Descriptor *descriptor(std::uint64_t seq) const {
    return reinterpret_cast<Descriptor *>(base + geometry.descriptors_offset) +
           seq % geometry.descriptor_count;
  }
  SlotMeta *slot(std::uint32_t i) const {
    return reinterpret_cast<SlotMeta *>(base + geometry.slots_offset + i * geometry.meta_stride);
  }
  CapsEntry *caps(std::uint64_t id) const {
    return reinterpret_cast<CapsEntry *>(base + geometry.caps_offset) + id % kCapsEntries;
  }
};

// Fills a new ring's control block (zeroed memory) before it is ready.
void init_control(const ControlView &view);

// The text of caps `id`, copied out of its seqlock entry; nullopt when the
// id is 0, no longer in the table, being rewritten, or its length is bad.
std::optional<std::string> read_caps(const ControlView &view, std::uint64_t id);

}  // namespace shmring::ring
