#include "shmring/inspect.hpp"

#include <dirent.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "header_check.hpp"
#include "layout.hpp"
#include "process_identity.hpp"
#include "queue_layout.hpp"
#include "region.hpp"
#include "rw_lock.hpp"
#include "shm_object.hpp"
#include "shmring/error.hpp"
#include "shmring/ring_name.hpp"

namespace shmring {

namespace {

constexpr const char *kPrefix = "shmring.";

void describe_ring(const ShmObject &object, const HeaderVerdict &verdict, ObjectInfo &info) {
  using namespace layout;
  info.kind = ObjectKind::Ring;
  info.owner_pid = verdict.writer_pid;
  info.owner_alive = process_alive(verdict.writer_pid, verdict.writer_start_time);
  info.slots = verdict.geometry.slot_count;
  info.slot_size = verdict.geometry.slot_size;
  // Only the control area: payloads are none of our business.
  Mapping control(object, 0, verdict.geometry.control_size, Mapping::Access::ReadOnly);
  ControlView view{control.data(), verdict.geometry};
  const Header *header = view.header();
  info.frames = header->write_seq.load();
  info.closed =
      header->writer_state.load() == static_cast<std::uint32_t>(WriterState::Closed);
  info.caps = read_caps(view, header->caps_id.load(std::memory_order_acquire)).value_or("");
  for (std::uint32_t i = 0; i < verdict.geometry.slot_count; ++i)
    info.slots_in_use += view.slot(i)->holders.load() != 0 ? 1 : 0;
  for (std::uint32_t i = 0; i < kMaxReaders; ++i) {
    const ReaderEntry *entry = view.reader(i);
    const auto state = static_cast<ReaderState>(entry->state.load());
    if (state != ReaderState::Active && state != ReaderState::Draining)
      continue;
    RingReaderInfo reader;
    reader.pid = entry->pid.load();
    reader.alive = process_alive(reader.pid, entry->start_time.load());
    reader.leaky = entry->policy.load() == static_cast<std::uint32_t>(ReaderPolicy::Leaky);
    reader.draining = state == ReaderState::Draining;
    reader.cursor = entry->cursor.load();
    reader.received = entry->received.load();
    reader.lost = entry->lost.load();
    info.drops += reader.lost;
    info.readers.push_back(reader);
  }
}

void describe_region(const ShmObject &object, const region::Verdict &verdict,
                     ObjectInfo &info) {
  info.owner_pid = verdict.creator_pid;
  info.owner_alive = process_alive(verdict.creator_pid, verdict.creator_start_time);
  info.element_size = verdict.shape.element_size;
  info.element_count = verdict.shape.element_count;
  Mapping control(object, 0, verdict.layout.payload_offset, Mapping::Access::ReadOnly);
  const std::byte *block = control.data() + verdict.layout.control_offset;
  if (verdict.shape.kind == region::Kind::Queue) {
    info.kind = ObjectKind::Queue;
    const auto *queue = reinterpret_cast<const queue::QueueControl *>(block);
    info.written = queue->enqueue_pos.load();
    info.taken = queue->dequeue_pos.load();
    info.abandoned = queue->abandoned.load();
    info.lost = queue->lost.load();
    for (const auto &participant : queue->participants) {
      if (participant.state.load() == static_cast<std::uint32_t>(queue::ParticipantState::Active) &&
          process_alive(participant.pid.load(), participant.start_time.load()))
        ++info.handles;
    }
    return;
  }
  info.kind = verdict.shape.kind == region::Kind::Array ? ObjectKind::Array : ObjectKind::Buffer;
  const RwLockState lock = rw_lock_state(*reinterpret_cast<const SharedRwLock *>(block));
  info.lock_writer = lock.writer_pid;
  info.lock_readers = lock.readers;
}

}  // namespace

const char *object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Ring: return "ring";
    case ObjectKind::Buffer: return "buffer";
    case ObjectKind::Array: return "array";
    case ObjectKind::Queue: return "queue";
    case ObjectKind::Unknown: break;
  }
  return "unknown";
}

std::vector<std::string> list_object_names() {
  std::vector<std::string> names;
  DIR *dir = opendir("/dev/shm");
  if (!dir)
    throw_system_error("cannot list /dev/shm", errno);
  while (const dirent *entry = readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.rfind(kPrefix, 0) == 0 && ring_name_problem(file.substr(8)).empty())
      names.push_back(file.substr(8));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

ObjectInfo inspect_object(const std::string &name) {
  const std::string path = shm_path_for_ring(name);
  ShmObject object = ShmObject::open_read_only(path);
  ObjectInfo info;
  info.name = name;
  info.bytes = object.size();

  std::uint64_t magic = 0;
  if (info.bytes >= sizeof magic) {
    Mapping first(object, 0, sizeof magic, Mapping::Access::ReadOnly);
    std::memcpy(&magic, first.data(), sizeof magic);
  }
  if (magic == region::kMagic) {
    const region::Verdict verdict = region::inspect(object);
    if (verdict.state == region::Verdict::State::Ready)
      describe_region(object, verdict, info);
    else
      info.problem = verdict.state == region::Verdict::State::Initializing
                         ? "being created"
                         : verdict.problem;
    return info;
  }
  const HeaderVerdict verdict = inspect_header(object);
  switch (verdict.state) {
    case HeaderState::Ready:
      describe_ring(object, verdict, info);
      break;
    case HeaderState::Initializing:
      info.problem = "being created";
      break;
    case HeaderState::Corrupt:
    case HeaderState::OtherVersion:
      info.problem = verdict.problem;
      break;
  }
  return info;
}

CleanReport clean_dead_objects() {
  CleanReport report;
  for (const std::string &name : list_object_names()) {
    ObjectInfo info;
    try {
      info = inspect_object(name);
    } catch (const Error &error) {
      if (error.code() != ErrorCode::NotFound)  // gone meanwhile: nothing to say
        report.kept.emplace_back(name, error.what());
      continue;
    }
    if (!info.problem.empty()) {
      report.kept.emplace_back(name, info.problem);
      continue;
    }
    if (info.owner_alive) {
      report.kept.emplace_back(name, std::string(object_kind_name(info.kind)) +
                                         " owned by live process " +
                                         std::to_string(info.owner_pid));
      continue;
    }
    // Inspect again right before unlinking, so an object that a new owner
    // replaced a moment ago is not removed under it.
    try {
      const ObjectInfo again = inspect_object(name);
      if (!again.problem.empty() || again.owner_alive || again.owner_pid != info.owner_pid) {
        report.kept.emplace_back(name, "replaced while cleaning");
        continue;
      }
    } catch (const Error &) {
      continue;  // gone meanwhile
    }
    if (shm_unlink(shm_path_for_ring(name).c_str()) == 0)
      report.removed.push_back(name);
    else
      report.kept.emplace_back(name, std::string("cannot remove: ") + std::strerror(errno));
  }
  return report;
}

}  // namespace shmring
