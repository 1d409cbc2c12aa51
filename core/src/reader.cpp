#include "shmring/reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include "futex.hpp"
#include "log.hpp"
#include "named_object.hpp"
#include "ring_layout.hpp"
#include "same_cpu.hpp"
#include "shmring/error.hpp"
#include "shmring/object_name.hpp"

namespace shmring {

using namespace ring;
using object::kLivenessSlice;

namespace {

std::uint64_t random_identity() {
  std::random_device device;
  const std::uint64_t identity = std::uint64_t{device()} << 32 | device();
  return identity != 0 ? identity : 1;
}

// Spins before sleeping: a frame that is about to arrive costs no syscall.
constexpr int kSpinsBeforeSleep = 64;

// NotYet: the record's descriptor holds an earlier lap's sequence, or is
// being changed. Overwritten: a later lap's, or the slot was taken back.
enum class ReadAttempt { Got, NotYet, Overwritten, Invalid };

}  // namespace

struct Reader::Impl {
  object::Handle handle;  // maps the header and control block (read-write unless read_only)
  object::Participants participants;
  Mapping data;  // read-only: payloads are the writer's to change
  ControlView view;
  RingControl *control;
  WakeChannel data_channel;
  WakeChannel space_channel;
  pid_t writer_pid;
  std::uint32_t entry_index = 0;
  std::uint64_t bit = 0;
  RingReader *entry = nullptr;
  std::uint64_t cursor = 0;
  // Records from this sequence on are ours: skipping one counts as a loss.
  // The write sequence once our entry is active (the writer counts us from
  // then on); the records before it, the newest of which we start at, are
  // read if they are still there and not missed if not.
  std::uint64_t counted_from = 0;
  bool joined_live = false;  // the writer was alive and writing when we joined
  bool blocking = false;     // policy block: the writer keeps our unread records
  ReaderCounters counters;
  std::uint64_t lost_reported = 0;    // counters.lost as of the last frame handed out
  std::uint64_t resyncs_pending = 0;  // reported with the next frame
  std::atomic<bool> interrupted{false};
  // Opened without write access (another user's ring shared read-only): no
  // participant entry, holds by shared locks, never holds the writer back.
  bool read_only = false;
  std::chrono::nanoseconds spin_time{0};  // ReaderOptions::spin_time
  Deadline waiting_since{};               // of the wait for the next record, while spinning
  int yields = 0;                         // to a writer on our CPU, in that wait
  TurnTaking turns;
  Deadline last_liveness_check{};

  Impl(object::Handle handle_, Mapping data_, const Geometry &geometry)
      : handle(std::move(handle_)),
        participants(handle),
        data(std::move(data_)),
        view{handle.control(), geometry},
        control(view.control()),
        data_channel(control->data_word, control->data_waiters),
        space_channel(control->space_word, control->space_waiters),
        writer_pid(handle.header()->owner_pid) {}

  // A read-only reader's join: present by its lock, at the newest record
  // when it became present. A writer waiting for its first reader goes on
  // the moment it sees the lock: what it publishes meanwhile (a live
  // source's backlog comes at once) is this reader's to read, if the ring
  // still holds it.
  void join_read_only() {
    if (!handle.object.hold_byte(object::kReadOnlyReaderByte))
      throw Error(ErrorCode::System, handle.what() + ": cannot mark this reader present");
    start_at_newest();
    // The writer looks for read-only readers every 5 ms (writer.cpp): hold
    // nothing before it has certainly seen us.
    std::this_thread::sleep_for(std::chrono::milliseconds(12));
  }

  // Where a joining reader starts: at the newest record. And whether the
  // writer was still writing then: decided here, once, at the join (for a
  // read-write reader, before the writer can see it). Everything published
  // after this is ours to read, even if the writer closes the ring before
  // we get round to looking at it again.
  void start_at_newest() {
    joined_live = !writer_closed();
    const std::uint64_t written = control->write_seq.load(std::memory_order_acquire);
    // The newest record, if there is one: a ring may number its records
    // from any sequence (WriterOptions::first_sequence).
    cursor = written > 0 && published(written - 1) ? written - 1 : written;
    counted_from = written;
  }

  void join(bool leaky, std::uint64_t identity) {
    blocking = !leaky;
    entry_index = participants.join(
        [&](std::uint32_t i) {
          RingReader *candidate = view.reader(i);
          candidate->identity.store(identity, std::memory_order_relaxed);
          candidate->mode.store(static_cast<std::uint32_t>(ReaderMode::Reading),
                                std::memory_order_relaxed);
          candidate->policy.store(
              static_cast<std::uint32_t>(leaky ? ReaderPolicy::Leaky : ReaderPolicy::Block),
              std::memory_order_relaxed);
          candidate->received.store(0, std::memory_order_relaxed);
          candidate->lost.store(0, std::memory_order_relaxed);
          candidate->cpu.store(0, std::memory_order_relaxed);
          start_at_newest();
          candidate->cursor.store(cursor, std::memory_order_release);
        },
        // A dead reader's entry we reap on the way: drop its holds.
        [&](std::uint32_t i) { drop_all_holds(std::uint64_t{1} << i); });
    bit = std::uint64_t{1} << entry_index;
    entry = view.reader(entry_index);
    // Active now. A claim the writer made before it could see us takes the
    // slot of a record published before it, so before the write sequence
    // we load now; every claim after that is made with a look that counts
    // us, or with a check that the entries are as an earlier look found
    // them, which then fails (seq_cst: our activation, then this load; its
    // store of the write sequence, then its look or check). So a record
    // from here on is lost only if we fall behind. One published between
    // the fill and now was not ours.
    counted_from = std::max(counted_from, control->write_seq.load(std::memory_order_seq_cst));
    space_channel.notify();  // a writer may be waiting for its first reader
  }

  void drop_all_holds(std::uint64_t mask) {
    for (std::uint32_t s = 0; s < view.geometry.slot_count; ++s)
      view.slot(s)->holders.fetch_and(~mask, std::memory_order_seq_cst);
  }

  ReadAttempt try_read(std::uint64_t sequence, Frame &out) {
    Descriptor *descriptor = view.descriptor(sequence);
    // Whether the record is still to come or gone is told from this one
    // load: a second look could see it published in between and take it
    // for gone.
    const std::uint64_t seen = descriptor->seq.load(std::memory_order_acquire);
    if (seen != sequence)
      return seen < sequence || seen == kNoSequence ? ReadAttempt::NotYet
                                                    : ReadAttempt::Overwritten;
    const std::uint32_t slot = descriptor->slot.load(std::memory_order_relaxed);
    if (slot >= view.geometry.slot_count)
      return ReadAttempt::Overwritten;
    SlotMeta *meta = view.slot(slot);
    // Hold first, then check the slot still has our sequence; the writer
    // marks it being-written first, then checks for holds (Dekker: one of
    // us sees the other). A lock is a system call, a full barrier.
    if (read_only)
      handle.object.hold_byte(object::kSlotHoldBytes + slot);
    else
      meta->holders.fetch_or(bit, std::memory_order_seq_cst);
    if (meta->seq.load(std::memory_order_seq_cst) != sequence) {
      drop_hold(slot);
      return ReadAttempt::Overwritten;
    }
    // Held: the writer will not touch this slot until we let go.
    std::memcpy(&out.record, &meta->record, sizeof(RecordHeader));
    std::memcpy(out.user, meta->user(), view.geometry.user.size);
    // Written by another process: a size beyond the slot is never trusted.
    if (out.record.size > view.geometry.slot_size) {
      drop_hold(slot);
      return ReadAttempt::Invalid;
    }
    out.slot = slot;
    out.sequence = sequence;
    out.data = data.data() + slot * view.geometry.slot_stride;
    return ReadAttempt::Got;
  }

  void drop_hold(std::uint32_t slot) {
    if (read_only) {
      // No notify without write access: the writer looks again within
      // milliseconds while read-only readers are present.
      handle.object.release_byte(object::kSlotHoldBytes + slot);
      return;
    }
    view.slot(slot)->holders.fetch_and(~bit, std::memory_order_seq_cst);
    space_channel.notify_after_seq_cst_change();
  }

  // Hands out the record try_read() got, with every loss counted since the
  // last frame handed out: a skip made in a call that then had nothing to
  // hand out (try_next, whose newest was overwritten again at once) is
  // reported with the next frame, whichever call hands it out.
  void deliver(Frame &out) {
    out.lost_before = counters.lost - lost_reported;
    lost_reported = counters.lost;
    out.resyncs_before = std::exchange(resyncs_pending, 0);
    waiting_since = Deadline{};
    yields = 0;
    ++cursor;
    ++counters.received;
    publish_progress();
  }

  // Makes our progress visible to the writer (a read-only reader has no
  // place for it, and never holds the writer back).
  void publish_progress() {
    if (read_only)
      return;
    entry->received.store(counters.received, std::memory_order_relaxed);
    entry->lost.store(counters.lost, std::memory_order_relaxed);
    show_cpu(entry->cpu);
    entry->cursor.store(cursor, std::memory_order_release);
    space_channel.notify();  // a writer may wait on this cursor
  }

  // True when the writer really published `sequence`: its descriptor says
  // so. write_seq alone is a shared word anybody with write access may have
  // scribbled over.
  bool published(std::uint64_t sequence) const {
    return view.descriptor(sequence)->seq.load(std::memory_order_acquire) == sequence;
  }

  // A cursor past the writer cannot happen unless shared state was
  // corrupted: start again from where the writer really is.
  void resync(std::uint64_t written) {
    SHMRING_LOG(Warning, "ring '" + handle.name + "': this reader's cursor " +
                             std::to_string(cursor) + " was past the writer's " +
                             std::to_string(written) +
                             " (shared state scribbled over): resynchronised");
    ++counters.resyncs;
    ++resyncs_pending;
    cursor = written;
    counted_from = std::min(counted_from, written);  // it came from the same scribble
    publish_progress();
  }

  // A reader whose record was overwritten goes to the newest record (it fell
  // behind), if the writer really published it: false when there is none
  // past the one after the cursor to go to.
  bool skip_ahead(std::uint64_t written) {
    // A blocking reader whose start the writer overwrote before it could
    // see the reader (between the fill and the activation) goes to its own
    // first record instead, which the writer has kept for it since: the
    // newest would skip the records in between (seen as 6 of 8 slots lost
    // at a join by a hostile test).
    if (blocking && cursor < counted_from && counted_from < written && published(counted_from)) {
      skip_to(counted_from);
      return true;
    }
    if (cursor + 1 >= written || !published(written - 1))
      return false;
    skip_to(written - 1);
    return true;
  }

  void skip_to(std::uint64_t sequence) {
    const std::uint64_t from = std::max(cursor, counted_from);
    if (sequence > from) {
      counters.lost += sequence - from;
      SHMRING_LOG(Debug, "ring '" + handle.name + "': fell behind, skipped " +
                             std::to_string(sequence - from) + " frame(s) to the newest");
    }
    cursor = sequence;
    publish_progress();
  }

  bool writer_closed() const {
    return control->writer_state.load(std::memory_order_acquire) ==
           static_cast<std::uint32_t>(WriterState::Closed);
  }
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reader::~Reader() {
  Impl &r = *impl_;
  if (!r.handle.in_opener())
    return;  // a forked child's copy: the entry and its holds are the parent's
  if (r.read_only)
    return;  // its locks go with its descriptor
  r.drop_all_holds(r.bit);
  r.participants.leave(r.entry_index);
  r.space_channel.notify();
  // The last one out of a ring whose writer died (SIGKILL, or SIGTERM
  // without a clean stop) removes it: nobody else would, short of `shmring
  // clean`, and it may hold hundreds of MB. A replacement under the same
  // name is another inode and stays.
  if (r.participants.occupied() == 0 && !object::owner_alive(r.handle.object))
    r.handle.object.unlink_if_still_named();
}

std::shared_ptr<Reader> Reader::open(const ReaderOptions &options) {
  // Map the header first (what to map beyond it depends on what it says).
  // Read-write when this user may write the ring; read-only when it may
  // only read it (shared with other users by the writer's `perms`).
  bool read_only = false;
  object::Handle handle;
  try {
    handle = object::open(options.name, ObjectKind::Ring, false, sizeof(object::ObjectHeader),
                          options.trusted_owner);
  } catch (const Error &error) {
    // Refused read-write: the read-only open says whether this user may
    // read it, or whether the ring is too new to tell yet (NotReady).
    if (error.code() != ErrorCode::PermissionDenied)
      throw;
    read_only = true;
    handle = object::open(options.name, ObjectKind::Ring, true, sizeof(object::ObjectHeader),
                          options.trusted_owner);
  }
  Geometry g;
  compute_geometry(handle.params, g);  // open() validated the params
  if (g.user.version != options.user.version || g.user.size != options.user.size)
    throw Error(ErrorCode::VersionMismatch,
                handle.what() + " carries records of user schema version " +
                    std::to_string(g.user.version) + " (" + std::to_string(g.user.size) +
                    " bytes); this reader reads version " + std::to_string(options.user.version) +
                    " (" + std::to_string(options.user.size) + " bytes): other version");
  handle.mapping = Mapping(handle.object, 0, handle.layout.payload_offset,
                           read_only ? Mapping::Access::ReadOnly : Mapping::Access::ReadWrite);
  Mapping data(handle.object, handle.layout.payload_offset,
               handle.layout.total_size - handle.layout.payload_offset, Mapping::Access::ReadOnly);
  const bool alive_at_open = object::owner_alive(handle.object);
  auto impl = std::make_unique<Impl>(std::move(handle), std::move(data), g);
  impl->read_only = read_only;
  impl->spin_time = std::max(options.spin_time, std::chrono::nanoseconds(0));
  if (read_only)
    impl->join_read_only();
  else
    impl->join(options.leaky, options.identity != 0 ? options.identity : random_identity());
  impl->joined_live = impl->joined_live && alive_at_open;
  return std::shared_ptr<Reader>(new Reader(std::move(impl)));
}

ReadStatus Reader::next(Frame &out, Deadline deadline) {
  Impl &r = *impl_;
  int spins = 0;
  const auto deliver = [&] {
    r.deliver(out);
    return ReadStatus::Frame;
  };
  for (;;) {
    if (r.interrupted.load())
      return ReadStatus::Interrupted;
    // A record already published is read without looking at write_seq: its
    // descriptor says so (the writer stores it first), and write_seq's line
    // is one the writer rewrites on every record, a line from its core per
    // read. The rest of the pass below is for an empty ring, and a cursor
    // the writer is not at.
    if (r.try_read(r.cursor, out) == ReadAttempt::Got)
      return deliver();
    // Closed is stored after the last publish: seeing it first means the
    // write_seq loaded next is final.
    const bool closed = r.writer_closed();
    std::uint64_t written = r.control->write_seq.load(std::memory_order_acquire);
    // The writer stores a record's descriptor before it advances write_seq:
    // the record just read by its descriptor may leave our cursor one past
    // write_seq for a moment. That is a writer mid-publish, with nothing
    // new yet (wait for write_seq to pass our cursor), not a cursor to
    // resynchronise, which would read that record again.
    if (r.cursor == written + 1 && r.published(written))
      written = r.cursor;
    if (r.cursor > written) {
      // Looked at once more: a writer that has moved on since (this reader
      // was descheduled between its loads) leaves no cursor past it.
      if (r.control->write_seq.load(std::memory_order_acquire) >= r.cursor)
        continue;
      r.resync(written);
      continue;
    }
    if (r.cursor < written) {
      ReadAttempt attempt = r.try_read(r.cursor, out);
      if (attempt == ReadAttempt::Got)
        return deliver();
      // Not there although write_seq is past it (the writer publishes a
      // descriptor before it advances write_seq): overwritten, its
      // descriptor taken for a later lap (we fell behind), or invalid. Skip
      // ahead.
      if (r.skip_ahead(written))
        continue;
      // The newest record itself cannot be read (being rewritten, or
      // corrupt), or write_seq names a record nobody published: wait for
      // a newer one rather than spin on it or skip to it.
    }
    if (closed)
      return ReadStatus::WriterClosed;
    // A writer on our own CPU cannot publish while we spin: the poll below
    // yields to it instead. (Where it runs is on the line of write_seq,
    // read above anyway.)
    const bool writer_here = on_this_cpu(r.control->writer_cpu.load(std::memory_order_relaxed));
    if (!writer_here && spins++ < kSpinsBeforeSleep) {
      cpu_relax();
      continue;
    }
    const Deadline now = Clock::now();
    if (now >= deadline)
      return ReadStatus::Timeout;
    // The spin budget (at least kPollBeforeSleep): poll on, unseen by the
    // writer (no futex, no waiter count, so its publish makes no system call
    // either). The budget runs from when this reader began to wait for its
    // next record, across calls (a caller that waits in slices must not
    // restart it), and the writer's liveness is looked at as often as a
    // sleeping reader would.
    if (r.waiting_since == Deadline{})
      r.waiting_since = r.last_liveness_check = now;
    const std::chrono::nanoseconds poll_for =
        std::max<std::chrono::nanoseconds>(r.spin_time, kPollBeforeSleep);
    if (writer_here || now < r.waiting_since + poll_for) {
      if (now - r.last_liveness_check >= kLivenessSlice) {
        r.last_liveness_check = now;
        if (!writer_alive())
          return ReadStatus::WriterDead;
      }
      if (!r.turns.step(writer_here, r.yields).sleep_now)
        continue;
    }
    // A read-only reader sleeps uncounted: a writer that has not noticed it
    // yet would not wake it, so it looks again sooner.
    const Deadline slice_end =
        std::min(deadline, now + (r.read_only ? std::chrono::milliseconds(10) : kLivenessSlice));
    // Something newer than what this pass saw, not merely something unread:
    // an unreadable newest record must not turn the wait into a spin.
    const auto newer = [&] {
      return r.interrupted.load() || r.writer_closed() ||
             r.control->write_seq.load(std::memory_order_acquire) > written;
    };
    bool in_time = true;
    if (r.read_only) {
      // Uncounted (no write access): the writer wakes such readers always.
      const std::uint32_t seen = r.data_channel.current();
      if (!newer())
        in_time = r.data_channel.wait_uncounted(seen, slice_end);
    } else {
      in_time = r.data_channel.wait(newer, slice_end);
    }
    if (!in_time && slice_end < deadline)
      ++r.counters.slices_expired;
    if (!in_time && !writer_alive())
      return ReadStatus::WriterDead;
  }
}

bool Reader::try_next(Frame &out) {
  Impl &r = *impl_;
  if (r.interrupted.load())
    return false;
  const ReadAttempt attempt = r.try_read(r.cursor, out);
  if (attempt == ReadAttempt::Got) {
    r.deliver(out);
    return true;
  }
  if (attempt == ReadAttempt::NotYet)
    return false;  // still to come: the usual answer
  // Overwritten: this reader fell a ring behind. As next() does, go to the
  // newest record and take it if it is there now (a poller that only ever
  // tries would otherwise stay behind).
  if (!r.skip_ahead(r.control->write_seq.load(std::memory_order_acquire)))
    return false;
  if (r.try_read(r.cursor, out) != ReadAttempt::Got)
    return false;  // overwritten again already: next() carries on from here
  r.deliver(out);
  return true;
}

void Reader::release(std::uint32_t slot) {
  if (slot < impl_->view.geometry.slot_count)
    impl_->drop_hold(slot);
}

std::optional<std::string> Reader::caps(std::uint64_t id) const {
  return read_caps(impl_->view, id);
}

void Reader::detach() {
  if (impl_->read_only)
    return;  // never held the writer back
  impl_->entry->mode.store(static_cast<std::uint32_t>(ReaderMode::Draining),
                           std::memory_order_release);
  // Bumped whether or not the writer sleeps: a writer riding its last look
  // at the readers (slots in turn) learns from the bump that it is stale.
  impl_->space_channel.notify_forced();
}

void Reader::interrupt() {
  impl_->interrupted.store(true);
  if (impl_->read_only)
    impl_->data_channel.wake_only();  // read-only: its waits are 10 ms slices
  else
    impl_->data_channel.notify_forced();
}

void Reader::clear_interrupt() { impl_->interrupted.store(false); }

bool Reader::writer_alive() const { return object::owner_alive(impl_->handle.object); }

bool Reader::writer_closed() const { return impl_->writer_closed(); }

bool Reader::joined_live_writer() const { return impl_->joined_live; }

bool Reader::read_only() const { return impl_->read_only; }

bool Reader::intact(const Frame &frame) const {
  std::atomic_thread_fence(std::memory_order_acquire);  // the copy before the check
  return frame.slot < impl_->view.geometry.slot_count &&
         impl_->view.slot(frame.slot)->seq.load(std::memory_order_seq_cst) == frame.sequence;
}

std::uint64_t Reader::writer_latency() const {
  return impl_->control->writer_latency.load(std::memory_order_relaxed);
}

pid_t Reader::writer_pid() const { return impl_->writer_pid; }
std::uint32_t Reader::slot_count() const { return impl_->view.geometry.slot_count; }
std::uint32_t Reader::slots_held() const {
  std::uint32_t held = 0;
  for (std::uint32_t s = 0; s < impl_->view.geometry.slot_count; ++s)
    held += impl_->view.slot(s)->holders.load(std::memory_order_seq_cst) != 0 ? 1 : 0;
  return held;
}

bool Reader::sole_reader() const {
  if (impl_->read_only)
    return false;
  const std::uint64_t occupied = impl_->participants.occupied();
  return occupied == impl_->bit;
}

std::uint64_t Reader::slot_size() const { return impl_->view.geometry.slot_size; }
ReaderCounters Reader::counters() const { return impl_->counters; }

}  // namespace shmring
