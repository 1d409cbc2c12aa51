#include "header_check.hpp"

#include <cstring>
#include <string>

namespace shmring {

namespace {

HeaderVerdict corrupt(std::string problem) {
  HeaderVerdict verdict;
  verdict.state = HeaderState::Corrupt;
  verdict.problem = std::move(problem);
  return verdict;
}

}  // namespace

HeaderVerdict inspect_header(const ShmObject &object) {
  using namespace layout;
  const std::uint64_t object_size = object.size();
  if (object_size == 0) {
    HeaderVerdict verdict;
    verdict.state = HeaderState::Initializing;
    return verdict;
  }
  if (object_size < sizeof(Header))
    return corrupt("the object is " + std::to_string(object_size) +
                   " bytes, smaller than a ring header");

  Mapping mapping(object, 0, sizeof(Header), Mapping::Access::ReadOnly);
  const auto *shared = reinterpret_cast<const Header *>(mapping.data());
  const std::uint32_t ready = shared->ready.load(std::memory_order_acquire);
  // Copy the write-once part, then judge only the copy.
  Header h;
  std::memcpy(static_cast<void *>(&h), shared, offsetof(Header, ready));

  if (h.magic == 0 && ready == 0) {
    HeaderVerdict verdict;
    verdict.state = HeaderState::Initializing;
    return verdict;
  }
  if (h.magic != kMagic)
    return corrupt("it is not a shmring ring (bad magic number)");
  if (h.abi_version != kAbiVersion) {
    HeaderVerdict verdict;
    verdict.state = HeaderState::OtherVersion;
    verdict.problem = "it was created by shmring ABI version " +
                      std::to_string(h.abi_version) + ", this is version " +
                      std::to_string(kAbiVersion);
    return verdict;
  }
  if (ready == 0) {
    HeaderVerdict verdict;
    verdict.state = HeaderState::Initializing;
    return verdict;
  }
  if (ready != 1)
    return corrupt("its ready word holds " + std::to_string(ready));
  if (h.header_size != sizeof(Header))
    return corrupt("its header size is " + std::to_string(h.header_size) +
                   ", expected " + std::to_string(sizeof(Header)));

  Geometry g;
  if (!compute_geometry(h.slot_count, h.slot_size, g))
    return corrupt("its slot count " + std::to_string(h.slot_count) + " or slot size " +
                   std::to_string(h.slot_size) + " is out of range");
  if (h.descriptor_count != g.descriptor_count || h.slot_stride != g.slot_stride ||
      h.control_size != g.control_size || h.total_size != g.total_size ||
      h.max_readers != kMaxReaders || h.caps_entries != kCapsEntries ||
      h.caps_capacity != kCapsCapacity)
    return corrupt("its layout fields disagree with its slot count and size");
  if (g.total_size > object_size)
    return corrupt("its header claims " + std::to_string(g.total_size) +
                   " bytes but the object has " + std::to_string(object_size));

  HeaderVerdict verdict;
  verdict.state = HeaderState::Ready;
  verdict.geometry = g;
  verdict.writer_pid = h.writer_pid;
  verdict.writer_start_time = h.writer_start_time;
  return verdict;
}

}  // namespace shmring
