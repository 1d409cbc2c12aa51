// The one layer under every named object (ring, shared buffer, array,
// queue): one header, one create / open / validate / replace-if-stale /
// inspect path, one participant table. A kind adds only its traits
// (kind_traits.hpp) and its control block.
//
//   [ ObjectHeader (identity, geometry, participant table) | kind's control | payload ]
//
// Liveness never uses a pid. The owner (the ring's writer, the creator of a
// buffer, array or queue) holds an open-file-description lock on byte 0 of
// the object, each participant one on byte 1 + its index: the kernel drops
// them when the process dies, whatever its PID namespace. Pids are recorded
// for display only.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "shm_object.hpp"
#include "shmring/object_kind.hpp"
#include "shmring/timeout.hpp"

namespace shmring::object {

// "SHMRING1" little-endian: the same first word as every earlier ring, so
// an object of another shmring version reads as "other version".
constexpr std::uint64_t kMagic = 0x31474e49524d4853ull;
// The seed objects of shmring 0.1 had a magic of their own ("SHMRREG1").
constexpr std::uint64_t kLegacyRegionMagic = 0x31474552524d4853ull;
constexpr std::uint32_t kAbiVersion = 3;        // 3: one header for every kind, lock liveness
constexpr std::uint32_t kMaxParticipants = 64;  // one bit each in a ring slot's holder mask
constexpr std::uint64_t kCacheLine = 64;
constexpr std::uint64_t kPageSize = 4096;
// Largest object created or accepted: keeps every sum of sizes in range.
constexpr std::uint64_t kMaxTotalSize = std::uint64_t{1} << 40;

// How often a waiter checks that whoever it waits for still lives: the
// longest a process killed with SIGKILL keeps anyone waiting. One constant
// for every kind and every wait.
constexpr auto kLivenessSlice = std::chrono::milliseconds(100);

// The liveness lock bytes (see the top of this file).
constexpr std::uint64_t kOwnerLockByte = 0;
constexpr std::uint64_t participant_lock_byte(std::uint32_t index) { return 1 + index; }
// Readers without write access (another user's, through a read-only open)
// cannot take a participant entry or set bits: they are present by a shared
// lock on this byte, and hold slot s by a shared lock on kSlotHoldBytes + s.
// Their locks vanish with them, like every other.
constexpr std::uint64_t kReadOnlyReaderByte = std::uint64_t{1} << 20;
constexpr std::uint64_t kSlotHoldBytes = std::uint64_t{1} << 21;

enum class ParticipantState : std::uint32_t {
  Free = 0,
  Claiming = 1,  // won the entry, taking its lock and filling in its fields
  Active = 2,
  Reaping = 3,  // found dead; the kind is taking back what it held
};

// state in the low 32 bits, a generation in the high 32 bits: every
// transition bumps or checks it, so a stale observer's CAS fails.
struct ParticipantWord {
  ParticipantState state;
  std::uint32_t generation;
  static ParticipantWord decode(std::uint64_t word) {
    return {static_cast<ParticipantState>(word & 0xffffffffu),
            static_cast<std::uint32_t>(word >> 32)};
  }
  std::uint64_t encode() const {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(state);
  }
};

struct alignas(kCacheLine) Participant {
  std::atomic<std::uint64_t> word;
  std::atomic<std::int32_t> pid;  // display only: a pid in the participant's namespace
  std::uint32_t reserved;
  // CLOCK_MONOTONIC (ns) when the entry entered Claiming or Reaping; 0 while
  // Free or Active. Lets a reaper tell a claim in progress from a dead one.
  std::atomic<std::uint64_t> since_ns;
};

// A kind's geometry: four numbers whose meaning is the kind's own.
struct Params {
  std::uint64_t value[4] = {};
};

struct alignas(kCacheLine) ObjectHeader {
  // Identity and geometry: written by the owner before `ready`, then only read.
  std::uint64_t magic;
  std::uint32_t abi_version;
  std::uint32_t header_size;
  std::uint32_t kind;          // ObjectKind
  std::uint32_t kind_version;  // the kind's own control-block layout version
  std::uint64_t total_size;
  std::uint64_t control_offset;
  std::uint64_t control_size;
  std::uint64_t payload_offset;
  Params params;
  std::int32_t owner_pid;  // display only
  std::uint32_t max_participants;
  std::atomic<std::uint32_t> ready;  // 1 once all of the above is valid (release)
  // Bit i set while participant entry i is not Free: loops over participants
  // (the ring writer's, on every frame) visit only these. Set by the joiner
  // after its claim; cleared, before the entry is freed, by whoever moved it
  // to Reaping (a reaper, or the participant leaving).
  std::atomic<std::uint64_t> occupied;
  Participant participants[kMaxParticipants];
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(offsetof(ObjectHeader, magic) == 0);
static_assert(offsetof(ObjectHeader, abi_version) == 8, "every version keeps it here");
static_assert(offsetof(ObjectHeader, kind) == 16);
static_assert(offsetof(ObjectHeader, params) == 56);
static_assert(offsetof(ObjectHeader, ready) == 96);
static_assert(offsetof(ObjectHeader, occupied) == 104);
static_assert(offsetof(ObjectHeader, participants) == 128);
static_assert(sizeof(Participant) == 64);
static_assert(sizeof(ObjectHeader) == 128 + 64 * kMaxParticipants);

// Where a kind's control block and payload sit.
struct Layout {
  std::uint64_t control_offset = 0;
  std::uint64_t control_size = 0;
  std::uint64_t payload_offset = 0;
  std::uint64_t total_size = 0;
};

// What an inspection of an existing object found.
struct Verdict {
  enum class State {
    Ready,         // valid: kind, params and layout can be used
    Initializing,  // its owner has not finished creating it
    Corrupt,       // not a shmring object, or inconsistent
    OtherVersion,  // a shmring object of another version
  } state = State::Corrupt;
  std::string problem;  // Corrupt, OtherVersion: what is wrong
  ObjectKind kind = ObjectKind::Unknown;
  Params params;
  Layout layout;
  pid_t owner_pid = 0;
};

// Writes the write-once fields of a new object's header (all but `ready`,
// which the creator stores last, and the participant table, zero). Openers
// accept exactly what this writes; the fuzz target builds its images with it.
void write_header(ObjectHeader &header, ObjectKind kind, const Params &params,
                  const Layout &layout);

// Reads and validates the header of `object` against its fstat size and the
// layout the kind's traits compute from the params. Maps only the header.
Verdict inspect(const ShmObject &object);

// True while the owner's process lives (its lock on byte 0 is held).
inline bool owner_alive(const ShmObject &object) {
  return object.byte_held_exclusively_elsewhere(kOwnerLockByte);
}

// For an object that reads as half-created: true when it has had no owner,
// and stayed as it is, for longer than a creator takes to lock it. Its
// creator died while creating it, and nobody will finish it.
bool abandoned_by_its_creator(const ShmObject &object);

// Removes the name of an object judged to have no owner, unless an owner
// holds its lock by now (or the name names another object, or this user
// may not remove it). True when it removed the name.
bool remove_ownerless(const ShmObject &object);

// A user's name, or the uid in digits when it has none here.
std::string user_name(uid_t uid);

// "ring 'cam0'", "queue 'jobs'": how messages name an object.
std::string describe(ObjectKind kind, const std::string &name);

// A created or opened object: its descriptor and one mapping of it.
struct Handle {
  std::string name;
  ShmObject object;
  Mapping mapping;
  ObjectKind kind = ObjectKind::Unknown;
  Params params;
  Layout layout;
  bool owner = false;  // created it: owns the name, unlinks it on close
  // A handle belongs to the process that created or opened it. A forked
  // child inherits the mapping and the very same open (and so its locks):
  // when the child lets go of its copy, nothing shared may change, or it
  // would release the parent's locks, entry and name.
  pid_t opener = getpid();
  bool in_opener() const { return getpid() == opener; }

  ObjectHeader *header() const { return reinterpret_cast<ObjectHeader *>(mapping.data()); }
  std::byte *control() const { return mapping.data() + layout.control_offset; }
  std::byte *payload() const { return mapping.data() + layout.payload_offset; }
  std::string what() const { return describe(kind, name); }
};

// Creates /shmring.NAME of that kind: O_EXCL, memory reserved, the owner
// lock taken before anything else, `init_control` run on the zeroed control
// block before `ready` is published. An object whose owner is dead (or
// garbage) is replaced; a live owner's is Error(OwnerAlive), or
// Error(WrongKind) naming what it is. `mapped` bytes from the start are
// mapped read-write (0: the whole object).
// Throws what create() would throw because of an object already holding the
// name (a live owner's, another user's, another kind or version); returns
// when create() could take the name (free, stale, or being created).
void check_name_free(const std::string &name, ObjectKind creating);

Handle create(const std::string &name, ObjectKind kind, const Params &params, mode_t perms,
              const std::function<void(std::byte *control, const Layout &)> &init_control,
              std::uint64_t mapped = 0, std::optional<gid_t> group = std::nullopt);

// Opens and validates an object that must be of `kind`. Maps the first
// `mapped` bytes (0: the whole object) read-write, or read-only when
// `read_only`. Trust: the object must belong to this user or root, or to
// `trusted_owner` when one is given (Error(PermissionDenied) otherwise):
// another local user could have put anything under the name.
Handle open(const std::string &name, ObjectKind kind, bool read_only = false,
            std::uint64_t mapped = 0, std::optional<uid_t> trusted_owner = std::nullopt);

// The participant table of a handle. Each participant holds the lock on its
// entry's byte while it is joined; whoever finds an Active entry whose lock
// nobody holds runs the kind's `on_dead` for it and frees it.
class Participants {
 public:
  explicit Participants(const Handle &handle)
      : Participants(handle.header(), handle.object, handle.what()) {}
  Participants(ObjectHeader *header, const ShmObject &object, std::string what)
      : header_(header), object_(&object), what_(std::move(what)) {}

  // Claims a free entry, takes its lock, lets `fill(index)` set the kind's
  // fields and publishes it Active. Reaps dead entries once if all are
  // taken, then throws Error(HandlesFull).
  std::uint32_t join(const std::function<void(std::uint32_t)> &fill,
                     const std::function<void(std::uint32_t)> &on_dead);
  // Frees our entry (the kind has already let go of what it held).
  void leave(std::uint32_t index);

  // Frees every entry whose process is gone, after `on_dead(index)` has
  // taken back what it held. `self` (our own entry, or kNone) is skipped.
  // Returns how many were freed.
  static constexpr std::uint32_t kNone = ~0u;
  std::uint32_t reap(std::uint32_t self, const std::function<void(std::uint32_t)> &on_dead);

  // The entries that are not Free (a bit each): iterate these, not all 64.
  // seq_cst, as word(): a look that misses a joiner's bit comes before the
  // joiner sets it in the single order of seq_cst operations.
  std::uint64_t occupied() const { return header_->occupied.load(std::memory_order_seq_cst); }
  bool active(std::uint32_t index) const {
    return index < kMaxParticipants &&
           ParticipantWord::decode(
               header_->participants[index].word.load(std::memory_order_acquire))
                   .state == ParticipantState::Active;
  }
  // The entry's generation: it changes at every claim, leave and reap, so
  // each stay of a participant in the entry has its own.
  std::uint32_t generation(std::uint32_t index) const {
    return index < kMaxParticipants
               ? ParticipantWord::decode(
                     header_->participants[index].word.load(std::memory_order_acquire))
                     .generation
               : 0;
  }
  // The entry's whole word (state and generation), seq_cst: a writer that
  // rides an earlier look checks with it that no entry changed since.
  std::uint64_t word(std::uint32_t index) const {
    return header_->participants[index].word.load(std::memory_order_seq_cst);
  }
  // Active, and its process lives.
  bool alive(std::uint32_t index) const;
  pid_t pid(std::uint32_t index) const;

 private:
  // From `held` (Reaping won by a reaper or the participant leaving, or a
  // claim given back) to Free: clears the occupied bit first, so that no
  // later joiner's bit is ever cleared.
  void free_entry(std::uint32_t index, const ParticipantWord &held);

  ObjectHeader *header_;
  const ShmObject *object_;
  std::string what_;
};

// Calls f(index) for every bit set in `mask`, lowest first.
template <typename F>
void for_each_bit(std::uint64_t mask, F f) {
  for (; mask != 0; mask &= mask - 1)
    f(static_cast<std::uint32_t>(__builtin_ctzll(mask)));
}

std::uint64_t monotonic_ns();

}  // namespace shmring::object
