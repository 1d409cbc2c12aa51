// The seed's objects (shared buffer, shared array, queue-mode circular
// buffer) share one self-describing header, so an opener needs nothing but
// the name, and `shmring list` can say what any object is:
//
//   [ RegionHeader | kind's control block | page-aligned payload ]
//
// Like the ring, a region lives at /shmring.NAME, is created O_EXCL by one
// process (its creator, recorded pid-reuse-safe), and is replaced when that
// creator has died. Openers recompute the layout from the element size and
// count and refuse any header field that disagrees, or any size beyond fstat.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "shm_object.hpp"

namespace shmring::region {

constexpr std::uint64_t kMagic = 0x31474552524d4853ull;  // "SHMRREG1" little-endian
constexpr std::uint32_t kAbiVersion = 1;

enum class Kind : std::uint32_t { Buffer = 1, Array = 2, Queue = 3 };

const char *kind_name(Kind kind);

struct alignas(64) RegionHeader {
  std::uint64_t magic;
  std::uint32_t abi_version;
  std::uint32_t kind;
  std::uint32_t header_size;
  std::uint32_t control_size;
  std::uint64_t payload_offset;
  std::uint64_t total_size;
  // Buffer: 1 and the byte size. Array: sizeof(T) and the length.
  // Queue: the node size and the node count.
  std::uint64_t element_size;
  std::uint64_t element_count;
  std::uint64_t type_tag;  // Array: a fingerprint of T (size and alignment); else 0
  std::int32_t creator_pid;
  std::uint32_t reserved;
  std::uint64_t creator_start_time;
  std::atomic<std::uint32_t> ready;  // 1 once all of the above is valid (release)
};

struct Layout {
  std::uint64_t control_offset = 0;
  std::uint64_t control_size = 0;
  std::uint64_t payload_offset = 0;
  std::uint64_t payload_stride = 0;  // Queue: distance between nodes; else element size
  std::uint64_t total_size = 0;
};

// The control block size of each kind (set by the file that owns the kind).
std::uint64_t control_size_of(Kind kind);

// False when the size or count is out of range for that kind.
bool compute_layout(Kind kind, std::uint64_t element_size, std::uint64_t element_count,
                    Layout &out);

struct Shape {
  Kind kind = Kind::Buffer;
  std::uint64_t element_size = 0;
  std::uint64_t element_count = 0;
  std::uint64_t type_tag = 0;
};

// One mapped, validated region: the whole object, read-write.
struct Region {
  std::string name;
  std::string path;
  ShmObject object;
  Mapping mapping;
  Shape shape;
  Layout layout;
  bool creator = false;

  RegionHeader *header() const { return reinterpret_cast<RegionHeader *>(mapping.data()); }
  std::byte *control() const { return mapping.data() + layout.control_offset; }
  std::byte *payload() const { return mapping.data() + layout.payload_offset; }
};

// Creates /shmring.NAME with that shape; `init_control` fills the kind's
// control block before `ready` is published. A stale object of a dead
// creator is replaced; a live one is Error(WriterAlive).
Region create(const std::string &name, const Shape &shape, mode_t perms,
              const std::function<void(std::byte *control)> &init_control);

// Opens and validates; `expected` is the kind the caller wants, and for
// arrays the element size and tag must match too (element_count 0: any).
Region open(const std::string &name, const Shape &expected);

// What an inspection of an existing object found (for `shmring list`).
struct Verdict {
  enum class State { Ready, Initializing, Corrupt, OtherVersion, NotARegion } state =
      State::Corrupt;
  std::string problem;
  Shape shape;
  Layout layout;
  pid_t creator_pid = 0;
  std::uint64_t creator_start_time = 0;
};

Verdict inspect(const ShmObject &object);

}  // namespace shmring::region
