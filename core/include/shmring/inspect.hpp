// Looking at the shmring objects on this machine from outside, without
// joining them: what `shmring list`, `info` and `clean` print and do.
// Inspection maps objects read-only and validates every header as a reader
// would; it never claims a reader entry or takes a lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "shmring/object_kind.hpp"

namespace shmring {

struct RingReaderInfo {
  pid_t pid = 0;
  bool alive = false;
  bool leaky = false;        // policy: leaky (else block)
  bool draining = false;     // stopped reading, still holds slots
  std::uint64_t cursor = 0;  // next sequence it will read
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
};

struct ObjectInfo {
  std::string name;
  ObjectKind kind = ObjectKind::Unknown;
  std::string problem;      // why it could not be read (corrupt, other version, being created)
  std::uint64_t bytes = 0;  // size of the shared memory object
  // Ring: its writer; others: their creator. The pid is as the owner sees
  // itself (its own PID namespace), for display; liveness is judged by the
  // owner's lock on the object, which holds across namespaces.
  pid_t owner_pid = 0;
  bool owner_alive = false;
  std::uint32_t handles = 0;  // live participants: a ring's readers, other kinds' open handles

  // Rings.
  bool closed = false;  // the writer sent its last record and stopped cleanly
  std::uint32_t slots = 0;
  std::uint64_t slot_size = 0;
  std::uint64_t frames = 0;           // records published so far
  std::uint64_t bytes_published = 0;  // their payload bytes
  std::uint32_t slots_in_use = 0;     // slots some reader still holds
  std::uint64_t drops = 0;            // frames lost by readers, summed
  std::string caps;                   // the newest caps
  std::vector<RingReaderInfo> readers;

  // Shared buffers and arrays.
  std::uint64_t element_size = 0;
  std::uint64_t element_count = 0;
  pid_t lock_writer = 0;
  std::uint32_t lock_readers = 0;

  // Queue-mode circular buffers (element_* are node size and count).
  std::uint64_t written = 0;
  std::uint64_t taken = 0;
  std::uint64_t abandoned = 0;
  std::uint64_t lost = 0;
};

// Names (without the "shmring." prefix) of every object in /dev/shm.
std::vector<std::string> list_object_names();

// Throws Error(InvalidName) or Error(NotFound); an object that exists but
// cannot be made sense of comes back with kind Unknown and a `problem`.
ObjectInfo inspect_object(const std::string &name);

struct CleanReport {
  std::vector<std::string> removed;                       // owner dead
  std::vector<std::pair<std::string, std::string>> kept;  // name, why
};

// Removes every object whose writer or creator is dead, and only those.
// An object that is corrupt, of another version or still being created is
// kept and reported: whether its owner is dead cannot be known.
CleanReport clean_dead_objects();

}  // namespace shmring
