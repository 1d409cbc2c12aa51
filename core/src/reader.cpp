#include "shmring/reader.hpp"

#include <cstring>

#include "futex.hpp"
#include "header_check.hpp"
#include "layout.hpp"
#include "process_identity.hpp"
#include "shm_object.hpp"
#include "shmring/error.hpp"
#include "shmring/ring_name.hpp"

namespace shmring {

using namespace layout;

namespace {

// A reader waiting for data checks that the writer still lives this often,
// so a writer killed with SIGKILL is noticed within about this long.
constexpr auto kLivenessSlice = std::chrono::milliseconds(100);
// Spins before sleeping: a frame that is about to arrive costs no syscall.
constexpr int kSpinsBeforeSleep = 64;

enum class ReadAttempt { Got, Overwritten, Invalid };

bool record_is_valid(const RecordInfo &info, std::uint64_t slot_size) {
  const auto kind = static_cast<std::uint32_t>(info.kind);
  if (kind < static_cast<std::uint32_t>(RecordKind::Buffer) ||
      kind > static_cast<std::uint32_t>(RecordKind::Tags))
    return false;
  if (info.n_references > kMaxReferenceTimestamps)
    return false;
  if (info.size > slot_size)
    return false;
  if (info.video.n_planes > kMaxPlanes)
    return false;
  for (std::uint32_t p = 0; p < info.video.n_planes; ++p) {
    if (info.video.plane_offset[p] > info.size)
      return false;
  }
  return true;
}

}  // namespace

struct Reader::Impl {
  std::string name;
  ShmObject object;
  Mapping control;  // read-write: reader table, holder bits, futex words
  Mapping data;     // read-only: payloads are the writer's to change
  ControlView view;
  Header *header;
  WakeChannel data_channel;
  WakeChannel space_channel;
  pid_t writer_pid;
  std::uint64_t writer_start_time;
  std::uint32_t entry_index = 0;
  std::uint64_t bit = 0;
  ReaderEntry *entry = nullptr;
  std::uint64_t cursor = 0;
  bool started = false;  // losses before the first frame are not losses
  ReaderCounters counters;
  std::atomic<bool> interrupted{false};

  Impl(std::string name_, ShmObject object_, Mapping control_, Mapping data_,
       const HeaderVerdict &verdict)
      : name(std::move(name_)),
        object(std::move(object_)),
        control(std::move(control_)),
        data(std::move(data_)),
        view{control.data(), verdict.geometry},
        header(view.header()),
        data_channel(header->data_word, header->data_waiters),
        space_channel(header->space_word, header->space_waiters),
        writer_pid(verdict.writer_pid),
        writer_start_time(verdict.writer_start_time) {}

  void claim_entry(bool leaky) {
    for (std::uint32_t i = 0; i < kMaxReaders; ++i) {
      ReaderEntry *candidate = view.reader(i);
      std::uint32_t expected = static_cast<std::uint32_t>(ReaderState::Free);
      if (!candidate->state.compare_exchange_strong(
              expected, static_cast<std::uint32_t>(ReaderState::Claiming),
              std::memory_order_acq_rel))
        continue;
      entry_index = i;
      bit = std::uint64_t{1} << i;
      entry = candidate;
      const ProcessIdentity self = current_process();
      entry->start_time.store(self.start_time, std::memory_order_relaxed);
      entry->pid.store(self.pid, std::memory_order_relaxed);
      entry->policy.store(static_cast<std::uint32_t>(leaky ? ReaderPolicy::Leaky
                                                           : ReaderPolicy::Block),
                          std::memory_order_relaxed);
      entry->received.store(0, std::memory_order_relaxed);
      entry->lost.store(0, std::memory_order_relaxed);
      // A late joiner starts at the newest record.
      const std::uint64_t written = header->write_seq.load(std::memory_order_acquire);
      cursor = written > 0 ? written - 1 : 0;
      entry->cursor.store(cursor, std::memory_order_relaxed);
      entry->state.store(static_cast<std::uint32_t>(ReaderState::Active),
                         std::memory_order_release);
      space_channel.notify();  // a writer may be waiting for its first reader
      return;
    }
    throw Error(ErrorCode::ReadersFull, "ring '" + name + "' already has " +
                                            std::to_string(kMaxReaders) + " readers");
  }

  ReadAttempt try_read(std::uint64_t sequence, Frame &out) {
    Descriptor *descriptor = view.descriptor(sequence);
    if (descriptor->seq.load(std::memory_order_acquire) != sequence)
      return ReadAttempt::Overwritten;
    const std::uint32_t slot = descriptor->slot.load(std::memory_order_relaxed);
    if (slot >= view.geometry.slot_count)
      return ReadAttempt::Overwritten;
    SlotMeta *meta = view.slot(slot);
    meta->holders.fetch_or(bit, std::memory_order_seq_cst);
    if (meta->seq.load(std::memory_order_seq_cst) != sequence) {
      drop_hold(slot);
      return ReadAttempt::Overwritten;
    }
    // Held: the writer will not touch this slot until we let go.
    std::memcpy(&out.info, &meta->record, sizeof(RecordInfo));
    if (!record_is_valid(out.info, view.geometry.slot_size)) {
      drop_hold(slot);
      return ReadAttempt::Invalid;
    }
    out.slot = slot;
    out.sequence = sequence;
    out.data = data.data() + slot * view.geometry.slot_stride;
    return ReadAttempt::Got;
  }

  void drop_hold(std::uint32_t slot) {
    view.slot(slot)->holders.fetch_and(~bit, std::memory_order_seq_cst);
    space_channel.notify();
  }

  void skip_to(std::uint64_t sequence) {
    if (started && sequence > cursor) {
      counters.lost += sequence - cursor;
      entry->lost.store(counters.lost, std::memory_order_relaxed);
    }
    cursor = sequence;
    entry->cursor.store(cursor, std::memory_order_release);
  }

  bool writer_closed() const {
    return header->writer_state.load(std::memory_order_acquire) ==
           static_cast<std::uint32_t>(WriterState::Closed);
  }

};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reader::~Reader() {
  Impl &r = *impl_;
  for (std::uint32_t s = 0; s < r.view.geometry.slot_count; ++s)
    r.view.slot(s)->holders.fetch_and(~r.bit, std::memory_order_seq_cst);
  r.entry->pid.store(0, std::memory_order_relaxed);
  r.entry->state.store(static_cast<std::uint32_t>(ReaderState::Free),
                       std::memory_order_release);
  r.space_channel.notify();
}

std::shared_ptr<Reader> Reader::open(const ReaderOptions &options) {
  const std::string path = shm_path_for_ring(options.name);
  ShmObject object = ShmObject::open_existing(path);
  HeaderVerdict verdict = inspect_header(object);
  switch (verdict.state) {
    case HeaderState::Ready:
      break;
    case HeaderState::Initializing:
      throw Error(ErrorCode::NotReady, "ring '" + options.name + "' is being created");
    case HeaderState::OtherVersion:
      throw Error(ErrorCode::VersionMismatch,
                  "ring '" + options.name + "': " + verdict.problem);
    case HeaderState::Corrupt:
      throw Error(ErrorCode::Corrupt,
                  "ring '" + options.name + "' is corrupt: " + verdict.problem);
  }
  const Geometry &g = verdict.geometry;
  Mapping control(object, 0, g.control_size, Mapping::Access::ReadWrite);
  Mapping data(object, g.control_size, g.total_size - g.control_size,
               Mapping::Access::ReadOnly);
  auto impl = std::make_unique<Impl>(options.name, std::move(object), std::move(control),
                                     std::move(data), verdict);
  impl->claim_entry(options.leaky);
  return std::shared_ptr<Reader>(new Reader(std::move(impl)));
}

ReadStatus Reader::next(Frame &out, Deadline deadline) {
  Impl &r = *impl_;
  const std::uint64_t lost_at_start = r.counters.lost;
  int spins = 0;
  for (;;) {
    if (r.interrupted.load())
      return ReadStatus::Interrupted;
    // Closed is stored after the last publish: seeing it first means the
    // write_seq loaded next is final.
    const bool closed = r.writer_closed();
    const std::uint64_t written = r.header->write_seq.load(std::memory_order_acquire);
    if (r.cursor < written) {
      ReadAttempt attempt = r.try_read(r.cursor, out);
      if (attempt == ReadAttempt::Got) {
        out.lost_before = r.counters.lost - lost_at_start;
        r.started = true;
        ++r.cursor;
        ++r.counters.received;
        r.entry->received.store(r.counters.received, std::memory_order_relaxed);
        r.entry->cursor.store(r.cursor, std::memory_order_release);
        r.space_channel.notify();  // a writer may wait on this cursor
        return ReadStatus::Frame;
      }
      // Overwritten (we fell behind) or invalid: go to the newest record.
      if (r.cursor + 1 < written) {
        r.skip_to(written - 1);
        continue;
      }
      // The newest record itself cannot be read (being rewritten, or
      // corrupt): wait for a newer one rather than spin on it.
    }
    if (closed)
      return ReadStatus::WriterClosed;
    if (spins++ < kSpinsBeforeSleep) {
      cpu_relax();
      continue;
    }
    const Deadline now = Clock::now();
    if (now >= deadline)
      return ReadStatus::Timeout;
    const Deadline slice_end = std::min(deadline, now + kLivenessSlice);
    // Something newer than what this pass saw, not merely something unread:
    // an unreadable newest record must not turn the wait into a spin.
    const bool in_time = r.data_channel.wait(
        [&] {
          return r.interrupted.load() || r.writer_closed() ||
                 r.header->write_seq.load(std::memory_order_acquire) > written;
        },
        slice_end);
    if (!in_time && !writer_alive())
      return ReadStatus::WriterDead;
  }
}

void Reader::release(std::uint32_t slot) {
  if (slot < impl_->view.geometry.slot_count)
    impl_->drop_hold(slot);
}

std::optional<std::string> Reader::caps(std::uint64_t id) const {
  return read_caps(impl_->view, id);
}

void Reader::detach() {
  impl_->entry->state.store(static_cast<std::uint32_t>(ReaderState::Draining),
                            std::memory_order_release);
  impl_->space_channel.notify();
}

void Reader::interrupt() {
  impl_->interrupted.store(true);
  impl_->data_channel.notify_forced();
}

void Reader::clear_interrupt() { impl_->interrupted.store(false); }

bool Reader::writer_alive() const {
  return process_alive(impl_->writer_pid, impl_->writer_start_time);
}

bool Reader::writer_closed() const { return impl_->writer_closed(); }

std::uint64_t Reader::writer_latency() const {
  return impl_->header->writer_latency.load(std::memory_order_relaxed);
}

pid_t Reader::writer_pid() const { return impl_->writer_pid; }
std::uint32_t Reader::slot_count() const { return impl_->view.geometry.slot_count; }
std::uint64_t Reader::slot_size() const { return impl_->view.geometry.slot_size; }
ReaderCounters Reader::counters() const { return impl_->counters; }

}  // namespace shmring
