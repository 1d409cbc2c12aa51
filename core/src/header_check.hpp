// Reading a header that another process wrote: nothing in it is trusted until
// it has been checked against the object's real size and against the
// geometry recomputed from the slot count and size alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "layout.hpp"
#include "shm_object.hpp"

namespace shmring {

enum class HeaderState {
  Ready,         // valid and complete: geometry can be used
  Initializing,  // all zero so far: a writer is creating it right now
  Corrupt,       // not a shmring ring, or inconsistent
  OtherVersion,  // a shmring ring of another ABI version
};

struct HeaderVerdict {
  HeaderState state = HeaderState::Corrupt;
  std::string problem;  // for Corrupt and OtherVersion: what is wrong
  layout::Geometry geometry;
  pid_t writer_pid = 0;
  std::uint64_t writer_start_time = 0;
};

HeaderVerdict inspect_header(const ShmObject &object);

}  // namespace shmring
