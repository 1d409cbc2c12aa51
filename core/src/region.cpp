#include "region.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "futex.hpp"
#include "process_identity.hpp"
#include "queue_layout.hpp"
#include "rw_lock.hpp"
#include "stale_object.hpp"
#include "shmring/error.hpp"
#include "shmring/ring_name.hpp"

namespace shmring::region {

namespace {

constexpr std::uint64_t kPageSize = 4096;
constexpr std::uint64_t kCacheLine = 64;
// Largest object we create or accept: 1 TiB keeps every sum below in range.
constexpr std::uint64_t kMaxTotalSize = std::uint64_t{1} << 40;
constexpr std::uint64_t kMaxQueueNodes = 1u << 20;

std::uint64_t round_up(std::uint64_t value, std::uint64_t to) {
  return (value + to - 1) / to * to;
}

Verdict verdict_of(Verdict::State state, std::string problem = {}) {
  Verdict verdict;
  verdict.state = state;
  verdict.problem = std::move(problem);
  return verdict;
}

}  // namespace

const char *kind_name(Kind kind) {
  switch (kind) {
    case Kind::Buffer: return "shared buffer";
    case Kind::Array: return "shared array";
    case Kind::Queue: return "circular buffer";
  }
  return "object";
}

std::uint64_t control_size_of(Kind kind) {
  return kind == Kind::Queue ? sizeof(queue::QueueControl) : sizeof(SharedRwLock);
}

bool compute_layout(Kind kind, std::uint64_t element_size, std::uint64_t element_count,
                    Layout &out) {
  if (element_size == 0 || element_size > kMaxTotalSize || element_count > kMaxTotalSize)
    return false;
  Layout layout;
  layout.control_offset = round_up(sizeof(RegionHeader), kCacheLine);
  layout.control_size = control_size_of(kind);
  if (kind == Kind::Queue) {
    if (element_count < 2 || element_count > kMaxQueueNodes)
      return false;
    layout.control_size += element_count * kCacheLine;  // one meta line per node
    layout.payload_stride = round_up(element_size, kCacheLine);
  } else {
    if (element_count == 0)
      return false;
    layout.payload_stride = element_size;
  }
  layout.payload_offset = round_up(layout.control_offset + layout.control_size, kPageSize);
  if (layout.payload_stride > kMaxTotalSize / element_count)
    return false;
  const std::uint64_t payload_size = layout.payload_stride * element_count;
  if (payload_size > kMaxTotalSize - layout.payload_offset)
    return false;
  layout.total_size = layout.payload_offset + payload_size;
  out = layout;
  return true;
}

Verdict inspect(const ShmObject &object) {
  const std::uint64_t object_size = object.size();
  if (object_size == 0)
    return verdict_of(Verdict::State::Initializing);
  if (object_size < sizeof(std::uint64_t))
    return verdict_of(Verdict::State::Corrupt, "it is too small to hold a header");
  const std::uint64_t mapped = std::min<std::uint64_t>(object_size, sizeof(RegionHeader));
  Mapping mapping(object, 0, mapped, Mapping::Access::ReadOnly);
  std::uint64_t magic = 0;
  std::memcpy(&magic, mapping.data(), sizeof(magic));
  if (magic == 0 && mapped == sizeof(RegionHeader) &&
      reinterpret_cast<const RegionHeader *>(mapping.data())->ready.load() == 0)
    return verdict_of(Verdict::State::Initializing);
  if (magic != kMagic)
    return verdict_of(Verdict::State::NotARegion,
                      "is not a shmring buffer, array or circular buffer");
  if (mapped < sizeof(RegionHeader))
    return verdict_of(Verdict::State::Corrupt, "it is too small to hold a header");

  const auto *shared = reinterpret_cast<const RegionHeader *>(mapping.data());
  const std::uint32_t ready = shared->ready.load(std::memory_order_acquire);
  // Copy the write-once part, then judge only the copy.
  RegionHeader h;
  std::memcpy(static_cast<void *>(&h), shared, offsetof(RegionHeader, ready));
  if (h.abi_version != kAbiVersion)
    return verdict_of(Verdict::State::OtherVersion,
                      "it was created by shmring region ABI version " +
                          std::to_string(h.abi_version) + ", this is version " +
                          std::to_string(kAbiVersion));
  if (ready == 0)
    return verdict_of(Verdict::State::Initializing);
  if (ready != 1)
    return verdict_of(Verdict::State::Corrupt,
                      "its ready word holds " + std::to_string(ready));
  if (h.kind < static_cast<std::uint32_t>(Kind::Buffer) ||
      h.kind > static_cast<std::uint32_t>(Kind::Queue))
    return verdict_of(Verdict::State::Corrupt, "its kind " + std::to_string(h.kind) +
                                                   " is unknown");
  if (h.header_size != sizeof(RegionHeader))
    return verdict_of(Verdict::State::Corrupt, "its header size is " +
                                                   std::to_string(h.header_size));
  const Kind kind = static_cast<Kind>(h.kind);
  Layout layout;
  if (!compute_layout(kind, h.element_size, h.element_count, layout))
    return verdict_of(Verdict::State::Corrupt, "its element size " +
                                                   std::to_string(h.element_size) +
                                                   " or count " +
                                                   std::to_string(h.element_count) +
                                                   " is out of range");
  if (h.control_size != layout.control_size || h.payload_offset != layout.payload_offset ||
      h.total_size != layout.total_size)
    return verdict_of(Verdict::State::Corrupt,
                      "its layout fields disagree with its element size and count");
  if (layout.total_size > object_size)
    return verdict_of(Verdict::State::Corrupt,
                      "its header claims " + std::to_string(layout.total_size) +
                          " bytes but the object has " + std::to_string(object_size));

  Verdict verdict = verdict_of(Verdict::State::Ready);
  verdict.shape = Shape{kind, h.element_size, h.element_count, h.type_tag};
  verdict.layout = layout;
  verdict.creator_pid = h.creator_pid;
  verdict.creator_start_time = h.creator_start_time;
  return verdict;
}

Region create(const std::string &name, const Shape &shape, mode_t perms,
              const std::function<void(std::byte *control)> &init_control) {
  const std::string path = shm_path_for_ring(name);
  Layout layout;
  if (!compute_layout(shape.kind, shape.element_size, shape.element_count, layout))
    throw Error(ErrorCode::InvalidArgument,
                std::string(kind_name(shape.kind)) + " '" + name + "': " +
                    std::to_string(shape.element_count) + " x " +
                    std::to_string(shape.element_size) + " bytes is out of range");

  ShmObject object;
  for (int attempt = 0; attempt < 3 && !object.valid(); ++attempt) {
    object = ShmObject::create_exclusive(path, perms, layout.total_size);
    if (!object.valid() &&
        existing_object_is_stale(path, std::string(kind_name(shape.kind)) + " '" + name + "'",
                                 ObjectFamily::Region))
      shm_unlink(path.c_str());  // its creator is dead: replace it, same name
  }
  if (!object.valid())
    throw Error(ErrorCode::WriterAlive,
                "'" + name + "' keeps being recreated by another process");

  Mapping mapping(object, 0, layout.total_size, Mapping::Access::ReadWrite);
  auto *header = reinterpret_cast<RegionHeader *>(mapping.data());
  const ProcessIdentity self = current_process();
  header->magic = kMagic;
  header->abi_version = kAbiVersion;
  header->kind = static_cast<std::uint32_t>(shape.kind);
  header->header_size = sizeof(RegionHeader);
  header->control_size = static_cast<std::uint32_t>(layout.control_size);
  header->payload_offset = layout.payload_offset;
  header->total_size = layout.total_size;
  header->element_size = shape.element_size;
  header->element_count = shape.element_count;
  header->type_tag = shape.type_tag;
  header->creator_pid = self.pid;
  header->creator_start_time = self.start_time;
  init_control(mapping.data() + layout.control_offset);
  header->ready.store(1, std::memory_order_release);

  Region region;
  region.name = name;
  region.path = path;
  region.object = std::move(object);
  region.mapping = std::move(mapping);
  region.shape = shape;
  region.layout = layout;
  region.creator = true;
  return region;
}

Region open(const std::string &name, const Shape &expected) {
  const std::string path = shm_path_for_ring(name);
  const std::string what = std::string(kind_name(expected.kind)) + " '" + name + "'";
  ShmObject object;
  try {
    object = ShmObject::open_existing(path);
  } catch (const Error &error) {
    if (error.code() == ErrorCode::NotFound)
      throw Error(ErrorCode::NotFound, "no " + what + " exists (" + error.what() + ")");
    throw;
  }
  Verdict verdict = inspect(object);
  switch (verdict.state) {
    case Verdict::State::Ready:
      break;
    case Verdict::State::Initializing:
      throw Error(ErrorCode::NotReady, what + " is still being created");
    case Verdict::State::NotARegion:
      throw Error(ErrorCode::WrongKind, "'" + name + "' " + verdict.problem);
    case Verdict::State::OtherVersion:
      throw Error(ErrorCode::VersionMismatch, what + ": " + verdict.problem);
    case Verdict::State::Corrupt:
      throw Error(ErrorCode::Corrupt, what + " is corrupt: " + verdict.problem);
  }
  if (verdict.shape.kind != expected.kind)
    throw Error(ErrorCode::WrongKind, "'" + name + "' is a " +
                                          kind_name(verdict.shape.kind) + ", not a " +
                                          kind_name(expected.kind));
  if (expected.kind == Kind::Array &&
      (verdict.shape.element_size != expected.element_size ||
       verdict.shape.type_tag != expected.type_tag))
    throw Error(ErrorCode::TypeMismatch,
                what + " holds elements of " + std::to_string(verdict.shape.element_size) +
                    " bytes (type tag " + std::to_string(verdict.shape.type_tag) +
                    "), not " + std::to_string(expected.element_size) + " (tag " +
                    std::to_string(expected.type_tag) + ")");

  Region region;
  region.mapping = Mapping(object, 0, verdict.layout.total_size, Mapping::Access::ReadWrite);
  region.name = name;
  region.path = path;
  region.object = std::move(object);
  region.shape = verdict.shape;
  region.layout = verdict.layout;
  return region;
}

}  // namespace shmring::region
