// The kinds of named object that live at /dev/shm/shmring.NAME. One enum and
// one name table serve the library, its messages and the `shmring` tool.
#pragma once

#include <cstdint>

namespace shmring {

// The values are stored in every object's header: never renumber.
enum class ObjectKind : std::uint32_t {
  Unknown = 0,
  Ring = 1,    // broadcast ring (Writer / Reader, shmringsink / shmringsrc)
  Buffer = 2,  // SharedBuffer
  Array = 3,   // SharedArray<T>
  Queue = 4,   // queue-mode CircularBuffer
};

// "ring", "buffer", "array", "queue" ("object" for Unknown).
const char *object_kind_name(ObjectKind kind);

}  // namespace shmring
