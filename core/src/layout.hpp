// The bytes that writer and readers share. Everything either side may change
// after creation is a lock-free std::atomic (address-free, so valid across
// processes); geometry is written once before `ready` and then only read.
//
//   [ Header | ReaderEntry x kMaxReaders | Descriptor x D | SlotMeta x N | CapsEntry x C ]  control (read-write)
//   [ payload of slot 0 | slot 1 | ... ]                                                   data (page aligned)
//
// Sequence number s (64-bit, never wraps) is published in descriptor s % D,
// which names the slot holding it. Slots are not tied to s % N, so a slot
// that a reader still holds is skipped rather than waited for.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "shmring/record.hpp"

namespace shmring::layout {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

constexpr std::uint64_t kMagic = 0x31474e49524d4853ull;  // "SHMRING1" little-endian
constexpr std::uint32_t kAbiVersion = 2;  // 2: tags, reference timestamps, writer latency
constexpr std::size_t kCacheLine = 64;
constexpr std::size_t kPageSize = 4096;
constexpr std::uint32_t kMaxReaders = 64;  // one bit each in a slot's holder mask
constexpr std::uint32_t kCapsEntries = 8;  // caps ids in flight at once
constexpr std::uint32_t kCapsCapacity = 16 * 1024 - 16;
constexpr std::uint32_t kMinSlots = 2;
constexpr std::uint32_t kMaxSlots = 1024;
constexpr std::uint64_t kMaxSlotSize = std::uint64_t{1} << 32;  // 4 GiB

// Sequence values with a meaning of their own in SlotMeta::seq / Descriptor::seq.
constexpr std::uint64_t kNoSequence = ~std::uint64_t{0};
constexpr std::uint64_t kBeingWritten = ~std::uint64_t{0} - 1;

enum class WriterState : std::uint32_t { Running = 1, Closed = 2 };

enum class ReaderState : std::uint32_t {
  Free = 0,
  Claiming = 1,  // a reader won the CAS and is filling in its identity
  Active = 2,    // reading; with policy Block its cursor holds the writer back
  Draining = 3,  // stopped reading; only its held slots remain
};

enum class ReaderPolicy : std::uint32_t { Block = 0, Leaky = 1 };

struct alignas(kCacheLine) Header {
  // Identity and geometry: written by the writer before `ready`.
  std::uint64_t magic;
  std::uint32_t abi_version;
  std::uint32_t header_size;
  std::uint64_t total_size;
  std::uint64_t control_size;  // bytes before the page-aligned payload area
  std::uint32_t slot_count;
  std::uint32_t descriptor_count;
  std::uint64_t slot_size;    // payload capacity of one slot
  std::uint64_t slot_stride;  // distance between two payloads
  std::uint32_t max_readers;
  std::uint32_t caps_entries;
  std::uint32_t caps_capacity;
  std::int32_t writer_pid;
  std::uint64_t writer_start_time;  // /proc/<pid>/stat field 22: pid reuse safe
  std::atomic<std::uint32_t> ready;  // 1 once all of the above is valid (release)

  // Writer-hot: one cache line, written on every publish.
  alignas(kCacheLine) std::atomic<std::uint64_t> write_seq;  // next sequence to publish
  std::atomic<std::uint32_t> data_word;     // futex readers sleep on
  std::atomic<std::uint32_t> data_waiters;  // readers inside futex_wait
  std::atomic<std::uint32_t> writer_state;
  std::atomic<std::uint64_t> caps_id;       // newest caps id
  // The writer pipeline's latency (ns) as its sink was told, kNoTime until
  // known: readers add it to their own for the LATENCY query.
  std::atomic<std::uint64_t> writer_latency;

  // Reader-hot: bumped when a reader frees a slot or advances its cursor.
  alignas(kCacheLine) std::atomic<std::uint32_t> space_word;  // futex the writer sleeps on
  std::atomic<std::uint32_t> space_waiters;
};

struct alignas(kCacheLine) ReaderEntry {
  std::atomic<std::uint32_t> state;
  std::atomic<std::uint32_t> policy;
  std::atomic<std::int32_t> pid;
  std::atomic<std::uint64_t> start_time;
  std::atomic<std::uint64_t> cursor;  // next sequence this reader will read
  std::atomic<std::uint64_t> received;
  std::atomic<std::uint64_t> lost;
};

struct Descriptor {
  std::atomic<std::uint64_t> seq;  // sequence published here, kNoSequence while changing
  std::atomic<std::uint32_t> slot;
  std::uint32_t reserved;
};

// The record is plain data: the writer fills it while seq == kBeingWritten
// and no reader holds the slot; readers copy it out after they have set their
// holder bit and seen seq unchanged, then validate the copy.
struct alignas(kCacheLine) SlotMeta {
  std::atomic<std::uint64_t> seq;
  std::atomic<std::uint64_t> holders;  // bit r: reader entry r still uses this payload
  RecordInfo record;
};

struct CapsEntry {
  std::atomic<std::uint64_t> id;  // 0 while being written (a seqlock)
  std::atomic<std::uint32_t> length;
  std::uint32_t reserved;
  char text[kCapsCapacity];
};

// Where everything sits, derived from slot count and size alone. The writer
// creates with it; a reader recomputes it from the header's count and size
// and refuses a header that disagrees anywhere.
struct Geometry {
  std::uint32_t slot_count = 0;
  std::uint32_t descriptor_count = 0;
  std::uint64_t slot_size = 0;
  std::uint64_t slot_stride = 0;
  std::uint64_t readers_offset = 0;
  std::uint64_t descriptors_offset = 0;
  std::uint64_t slots_offset = 0;
  std::uint64_t caps_offset = 0;
  std::uint64_t control_size = 0;
  std::uint64_t total_size = 0;
};

// False when count or size is out of range.
bool compute_geometry(std::uint32_t slot_count, std::uint64_t slot_size, Geometry &out);

// Writes the write-once identity and geometry fields of a header (all but
// `ready`, which the writer stores last). Readers accept exactly what this
// writes; the fuzz target builds its valid headers with it too.
void write_header_fields(Header &header, const Geometry &geometry, std::int32_t writer_pid,
                         std::uint64_t writer_start_time);

// Typed views of one mapping of the control area.
struct ControlView {
  std::byte *base = nullptr;
  Geometry geometry;

  Header *header() const { return reinterpret_cast<Header *>(base); }
  ReaderEntry *reader(std::uint32_t i) const {
    return reinterpret_cast<ReaderEntry *>(base + geometry.readers_offset) + i;
  }
  Descriptor *descriptor(std::uint64_t seq) const {
    return reinterpret_cast<Descriptor *>(base + geometry.descriptors_offset) +
           seq % geometry.descriptor_count;
  }
  SlotMeta *slot(std::uint32_t i) const {
    return reinterpret_cast<SlotMeta *>(base + geometry.slots_offset) + i;
  }
  CapsEntry *caps(std::uint64_t id) const {
    return reinterpret_cast<CapsEntry *>(base + geometry.caps_offset) + id % kCapsEntries;
  }
};

// The text of caps `id`, copied out of its seqlock entry; nullopt when the
// id is 0, no longer in the table, being rewritten, or its length is bad.
std::optional<std::string> read_caps(const ControlView &view, std::uint64_t id);

}  // namespace shmring::layout
