// What each kind of named object adds to the one layer (named_object.hpp):
// its name, the version of its control block, how big its control block and
// payload are for given params, and how `shmring info` describes it. Each
// kind defines its traits in its own file and registers them there, so a new
// kind touches that file (and the ObjectKind enum) only.
#pragma once

#include <cstdint>
#include <string>

#include "named_object.hpp"
#include "shmring/inspect.hpp"

namespace shmring::object {

// A read-only look at a valid object's header and control block: what a
// kind's `describe` reads.
struct Look {
  const Verdict &verdict;
  const std::byte *control;  // the kind's control block
  const Participants &participants;
};

struct KindTraits {
  ObjectKind kind;
  const char *name;       // "ring": the one name table is the registry
  std::uint32_t version;  // of the kind's control block; stored in every header
  // False when the params are out of range for the kind; else the sizes.
  bool (*sizes)(const Params &params, std::uint64_t &control_size, std::uint64_t &payload_size);
  // The params in words, for messages ("8 slots of 1024 bytes").
  std::string (*describe_params)(const Params &params);
  // Fills the kind's part of `info` from a read-only look at the object.
  // Never joins, never writes.
  void (*describe)(const Look &look, ObjectInfo &info);
};

// Registers a kind's traits; used once per kind, at load time:
//   const bool registered = register_kind(kRingTraits);
bool register_kind(const KindTraits &traits);

// The traits of a kind; nullptr for one this build does not know.
const KindTraits *traits_of(ObjectKind kind);

// The layout of an object of that kind; false when the params are out of
// range or the object would exceed kMaxTotalSize.
bool compute_layout(const KindTraits &traits, const Params &params, Layout &out);

}  // namespace shmring::object
