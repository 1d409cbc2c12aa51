#include "shmring/circular_buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "futex.hpp"
#include "kind_traits.hpp"
#include "named_object.hpp"
#include "prefetch.hpp"
#include "queue_layout.hpp"
#include "same_cpu.hpp"
#include "shmring/error.hpp"

namespace shmring {

using namespace queue;
// A blocked writer or reader checks the holder of the node it waits on once
// per slice: the longest a dead process can hold a node while somebody waits.
using object::kLivenessSlice;

namespace {

constexpr int kSpinsBeforeSleep = 64;
// Every how many items a writer or reader shows peers the CPU it runs on.
constexpr std::uint64_t kShowCpuEvery = 64;

// A call's timeout as a deadline, read from the clock only when the call
// first has to wait: an item taken at once costs no clock read (at 64 B
// the read was a fifth of an item's cost on each side). A long timeout runs
// from that first read, after a spin of a microsecond or two, and is then
// fixed for the rest of the call; one shorter than kEagerBelow runs from
// the start of the call, where the spin would be a noticeable part of it;
// none at all (kNoWait) needs no clock.
class LazyDeadline {
 public:
  static constexpr Timeout kEagerBelow = std::chrono::milliseconds(1);

  explicit LazyDeadline(Timeout timeout) : timeout_(timeout) {
    if (timeout_ <= Timeout::zero()) {
      deadline_ = Deadline::min();  // passed: fail after the first spin
      known_ = true;
    } else if (timeout_ < kEagerBelow) {
      deadline_ = deadline_after(timeout_);
      known_ = true;
    }
  }
  Deadline get() {
    if (!known_) {
      deadline_ = deadline_after(timeout_);
      known_ = true;
    }
    return deadline_;
  }

 private:
  Timeout timeout_;
  Deadline deadline_{};
  bool known_ = false;
};

std::uint64_t round_up(std::uint64_t value, std::uint64_t to) { return (value + to - 1) / to * to; }

bool sizes(const object::Params &params, std::uint64_t &control_size, std::uint64_t &payload_size) {
  const std::uint64_t count = params.value[kNodeCount];
  const std::uint64_t node_size = params.value[kNodeSize];
  if (count < 2 || count > kMaxNodes || node_size == 0 || node_size > object::kMaxTotalSize ||
      params.value[2] != 0 || params.value[3] != 0)
    return false;
  const std::uint64_t stride = round_up(node_size, object::kCacheLine);
  if (stride > object::kMaxTotalSize / count)
    return false;
  control_size = sizeof(QueueControl) + count * sizeof(NodeMeta);
  payload_size = stride * count;
  return true;
}

std::string describe_params(const object::Params &params) {
  return std::to_string(params.value[kNodeCount]) + " nodes of " +
         std::to_string(params.value[kNodeSize]) + " bytes";
}

void describe(const object::Look &look, ObjectInfo &info) {
  info.element_size = look.verdict.params.value[kNodeSize];
  info.element_count = look.verdict.params.value[kNodeCount];
  const auto *queue = reinterpret_cast<const QueueControl *>(look.control);
  info.written = queue->enqueue_pos.load();
  info.taken = queue->dequeue_pos.load();
  info.abandoned = queue->abandoned.load();
  info.lost = queue->lost.load();
}

const object::KindTraits kTraits{ObjectKind::Queue, "queue", kLayoutVersion, sizes,
                                 describe_params,   describe};
[[maybe_unused]] const bool registered = object::register_kind(kTraits);

// Where a writer or reader found itself blocked: the position, and the node
// word it saw there. Anything changing either is worth another try.
struct Blocked {
  std::uint64_t position;
  std::uint32_t node;
  std::uint64_t word;
};

}  // namespace

struct CircularBuffer::Impl {
  object::Handle handle;
  object::Participants participants;
  QueueControl *control;
  NodeMeta *nodes;
  std::uint32_t node_count;
  std::uint64_t node_size;
  std::uint64_t stride;
  std::byte *payload;
  WakeChannel data_channel;
  WakeChannel space_channel;
  TurnTaking write_turns;  // writers waiting for a reader on their CPU
  TurnTaking read_turns;   // readers waiting for a writer on theirs
  std::uint8_t self = 0;   // our participant index, recorded in every node we claim

  explicit Impl(object::Handle handle_)
      : handle(std::move(handle_)),
        participants(handle),
        control(reinterpret_cast<QueueControl *>(handle.control())),
        nodes(control->nodes()),
        node_count(static_cast<std::uint32_t>(handle.params.value[kNodeCount])),
        node_size(handle.params.value[kNodeSize]),
        stride(round_up(node_size, object::kCacheLine)),
        payload(handle.payload()),
        data_channel(control->data_word, control->data_waiters),
        space_channel(control->space_word, control->space_waiters) {
    self = static_cast<std::uint8_t>(participants.join([](std::uint32_t) {}, recover()));
  }

  ~Impl() {
    if (!handle.in_opener())
      return;  // a forked child's copy: the entry and the name are the parent's
    participants.leave(self);
    if (handle.owner)
      handle.object.unlink_if_still_named();
  }

  // What the reaper does for a participant found dead: take back its nodes.
  // A participant entry is freed only after that, so no node can name an
  // entry that a new process has taken.
  std::function<void(std::uint32_t)> recover() {
    return [this](std::uint32_t dead) {
      for (std::uint32_t n = 0; n < node_count; ++n) {
        const std::uint64_t raw = nodes[n].word.load(std::memory_order_acquire);
        if (NodeWord::decode(raw).owner == dead)
          recover_node(n, raw, true);
      }
    };
  }

  bool participant_dead(std::uint8_t index) const {
    if (index == self)
      return false;
    // Nodes are only claimed by active participants.
    return !participants.alive(index);
  }

  // Takes a node back from a dead claimer: its half-written item is dropped
  // (readers skip it), its half-read item is lost (writers may reuse it).
  void recover_node(std::uint32_t index, std::uint64_t raw, bool known_dead = false) {
    const NodeWord seen = NodeWord::decode(raw);
    const bool dead = known_dead || participant_dead(seen.owner);
    if (seen.state == NodeState::Writing && dead) {
      if (nodes[index].word.compare_exchange_strong(
              raw, NodeWord{seen.lap, NodeState::Abandoned, 0}.encode())) {
        control->abandoned.fetch_add(1, std::memory_order_relaxed);
        data_channel.notify();
      }
    } else if (seen.state == NodeState::Reading && dead) {
      if (nodes[index].word.compare_exchange_strong(
              raw, NodeWord{seen.lap + 1, NodeState::Free, 0}.encode())) {
        control->lost.fetch_add(1, std::memory_order_relaxed);
        space_channel.notify();
      }
    }
  }

  std::uint32_t index_of(std::uint64_t position) const {
    return static_cast<std::uint32_t>(position % node_count);
  }
  std::byte *node_data(std::uint64_t position) const {
    return payload + index_of(position) * stride;
  }

  // Ends our claim on the node at `position`: from (lap, `from`, us) to
  // (lap + `next_lap`, `to`, `owner`). False when it was not ours in that
  // state (recovered from us, which only happens to a process thought dead).
  bool hand_over(std::uint64_t position, NodeState from, NodeState to, std::uint64_t next_lap,
                 std::uint8_t owner) {
    const std::uint64_t lap = position / node_count;
    std::uint64_t expected = NodeWord{lap, from, self}.encode();
    // seq_cst: what follows a hand-over is a notify_after_seq_cst_change().
    return nodes[index_of(position)].word.compare_exchange_strong(
        expected, NodeWord{lap + next_lap, to, owner}.encode(), std::memory_order_seq_cst);
  }

  // One attempt to claim the next write position. True: claimed `position`.
  bool try_claim_write(std::uint64_t &position, Blocked &blocked) {
    for (;;) {
      const std::uint64_t p = control->enqueue_pos.load(std::memory_order_acquire);
      const std::uint32_t index = index_of(p);
      const std::uint64_t lap = p / node_count;
      std::uint64_t raw = nodes[index].word.load(std::memory_order_acquire);
      const NodeWord w = NodeWord::decode(raw);
      const std::int64_t distance = lap_distance(w.lap, lap);
      if (distance == 0 && w.state == NodeState::Free) {
        if (nodes[index].word.compare_exchange_strong(
                raw, NodeWord{lap, NodeState::Writing, self}.encode(), std::memory_order_acq_rel)) {
          std::uint64_t expected = p;
          control->enqueue_pos.compare_exchange_strong(expected, p + 1);
          position = p;
          return true;
        }
        continue;
      }
      if (distance >= 0) {
        // Somebody claimed p and has not moved the position on yet: help.
        std::uint64_t expected = p;
        control->enqueue_pos.compare_exchange_strong(expected, p + 1);
        continue;
      }
      blocked = Blocked{p, index, raw};  // the node still holds an earlier lap: full
      return false;
    }
  }

  // One attempt to claim the next read position. True: claimed `position`.
  bool try_claim_read(std::uint64_t &position, Blocked &blocked) {
    for (;;) {
      const std::uint64_t p = control->dequeue_pos.load(std::memory_order_acquire);
      const std::uint32_t index = index_of(p);
      const std::uint64_t lap = p / node_count;
      std::uint64_t raw = nodes[index].word.load(std::memory_order_acquire);
      const NodeWord w = NodeWord::decode(raw);
      const std::int64_t distance = lap_distance(w.lap, lap);
      if (distance == 0 && w.state == NodeState::Abandoned) {
        // Nothing to read here: free it for the next lap and move on.
        if (nodes[index].word.compare_exchange_strong(
                raw, NodeWord{lap + 1, NodeState::Free, 0}.encode())) {
          std::uint64_t expected = p;
          control->dequeue_pos.compare_exchange_strong(expected, p + 1);
          space_channel.notify();
        }
        continue;
      }
      if (distance == 0 && w.state == NodeState::Full) {
        if (nodes[index].word.compare_exchange_strong(
                raw, NodeWord{lap, NodeState::Reading, self}.encode(), std::memory_order_acq_rel)) {
          std::uint64_t expected = p;
          control->dequeue_pos.compare_exchange_strong(expected, p + 1);
          position = p;
          return true;
        }
        continue;
      }
      if (distance > 0 || (distance == 0 && w.state == NodeState::Reading)) {
        std::uint64_t expected = p;  // taken already: help the position on
        control->dequeue_pos.compare_exchange_strong(expected, p + 1);
        continue;
      }
      blocked = Blocked{p, index, raw};  // not yet written, or still being written
      return false;
    }
  }

  // Retries `try_claim` until it succeeds or the deadline passes: spins a
  // little, then sleeps on `channel`, checking the blocking node's claimer
  // for liveness once per slice. With a peer (what we wait for: a writer
  // for a reader, a reader for a writer) on our own CPU it yields to that
  // peer instead (same_cpu.hpp): spinning only keeps the peer from the CPU,
  // and a sleep per turn cost a futex wake and two context switches per
  // item (64 B items on one CPU: 0.30 M/s, against 6.8 on two).
  template <typename TryClaim>
  bool claim(TryClaim try_claim, std::atomic<std::uint64_t> &cursor, WakeChannel &channel,
             LazyDeadline &lazy_deadline, std::uint64_t &position,
             std::atomic<std::uint32_t> &own_cpu, const std::atomic<std::uint32_t> &peer_cpu,
             TurnTaking &turns) {
    Blocked blocked{};
    // The node word at the position is one the peer wrote last (its
    // hand-over): asked for owned, it comes over once, where the look at it
    // fetched it shared and the claim's compare-exchange fetched it again.
    // Once per claim: asked for on every poll, it would pull the word from
    // a peer mid-item. (`queue-bandwidth 64 64`, in turns with the code
    // without it: 12.2 -> 17.7 M items/s while the host ran at its usual
    // speed, 0.97x in its slow spells; 1 KiB 1.00-1.02x.)
    prefetch_for_write(&nodes[index_of(cursor.load(std::memory_order_relaxed))].word);
    if (try_claim(position, blocked)) {
      // Where we run, for a peer deciding whether to yield to us: at every
      // 64th item (on a line this claim wrote anyway) and at each wait.
      if (position % kShowCpuEvery == 0)
        show_cpu(own_cpu);
      return true;
    }
    // Spin first, as a peer on another CPU mostly ends the wait within it;
    // where it runs is looked at after that (its word is on a line it
    // writes on every item: looked at on every wait, it cost a third of the
    // two-CPU rate), or at once if the last wait found it on our CPU.
    const auto peer_here = [&] { return on_this_cpu(peer_cpu.load(std::memory_order_relaxed)); };
    if (!(turns.peer_was_here() && peer_here())) {
      for (int spin = 1; spin < kSpinsBeforeSleep; ++spin) {
        cpu_relax();
        if (try_claim(position, blocked))
          return true;
      }
    }
    show_cpu(own_cpu);
    const Deadline deadline = lazy_deadline.get();
    Deadline next_check = Clock::now() + kLivenessSlice;
    int yields = 0;
    for (;;) {
      if (try_claim(position, blocked))
        return true;
      const Deadline now = Clock::now();
      if (now >= deadline)
        return false;
      if (now >= next_check) {
        // The node's claimer first (what blocks us), then everybody dead.
        recover_node(blocked.node, blocked.word);
        participants.reap(self, recover());
        next_check = now + kLivenessSlice;
        continue;
      }
      const bool here = peer_here();
      turns.set_peer_was_here(here);
      if (here && !turns.step(true, yields).sleep_now)
        continue;  // the peer took a turn: look again
      channel.wait(
          [&] {
            return cursor.load(std::memory_order_acquire) != blocked.position ||
                   nodes[blocked.node].word.load(std::memory_order_acquire) != blocked.word;
          },
          std::min(deadline, next_check));
    }
  }
};

// ---- leases -----------------------------------------------------------------

CircularBuffer::WriteLease::WriteLease(WriteLease &&other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)),
      position_(other.position_),
      data_(other.data_),
      capacity_(other.capacity_) {}

CircularBuffer::WriteLease &CircularBuffer::WriteLease::operator=(WriteLease &&other) noexcept {
  if (this != &other) {
    abandon();
    impl_ = std::exchange(other.impl_, nullptr);
    position_ = other.position_;
    data_ = other.data_;
    capacity_ = other.capacity_;
  }
  return *this;
}

CircularBuffer::WriteLease::~WriteLease() { abandon(); }

void CircularBuffer::WriteLease::commit(std::size_t size) {
  if (!impl_)
    throw Error(ErrorCode::InvalidArgument, "commit of an empty write lease");
  if (size > capacity_)
    throw Error(ErrorCode::OutOfRange, "commit of " + std::to_string(size) +
                                           " bytes into a node of " + std::to_string(capacity_));
  Impl &q = *std::exchange(impl_, nullptr);
  q.nodes[q.index_of(position_)].size.store(size, std::memory_order_relaxed);
  q.hand_over(position_, NodeState::Writing, NodeState::Full, 0, q.self);
  q.data_channel.notify_after_seq_cst_change();
}

void CircularBuffer::WriteLease::abandon() {
  if (!impl_)
    return;
  Impl &q = *std::exchange(impl_, nullptr);
  if (q.hand_over(position_, NodeState::Writing, NodeState::Abandoned, 0, 0))
    q.control->abandoned.fetch_add(1, std::memory_order_relaxed);
  q.data_channel.notify_after_seq_cst_change();
}

CircularBuffer::ReadLease::ReadLease(ReadLease &&other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)),
      position_(other.position_),
      data_(other.data_),
      size_(other.size_) {}

CircularBuffer::ReadLease &CircularBuffer::ReadLease::operator=(ReadLease &&other) noexcept {
  if (this != &other) {
    release();
    impl_ = std::exchange(other.impl_, nullptr);
    position_ = other.position_;
    data_ = other.data_;
    size_ = other.size_;
  }
  return *this;
}

CircularBuffer::ReadLease::~ReadLease() { release(); }

void CircularBuffer::ReadLease::release() {
  if (!impl_)
    return;
  Impl &q = *std::exchange(impl_, nullptr);
  q.hand_over(position_, NodeState::Reading, NodeState::Free, 1, 0);
  q.space_channel.notify_after_seq_cst_change();
}

// ---- the queue ----------------------------------------------------------------

CircularBuffer::CircularBuffer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CircularBuffer::CircularBuffer(CircularBuffer &&) noexcept = default;
CircularBuffer &CircularBuffer::operator=(CircularBuffer &&) noexcept = default;
CircularBuffer::~CircularBuffer() = default;

CircularBuffer CircularBuffer::create(const std::string &name, std::uint32_t node_count,
                                      std::uint64_t node_size, mode_t perms) {
  object::Params params;
  params.value[kNodeCount] = node_count;
  params.value[kNodeSize] = node_size;
  return CircularBuffer(std::make_unique<Impl>(
      object::create(name, ObjectKind::Queue, params, perms,
                     [node_count](std::byte *control_bytes, const object::Layout &) {
                       // Zeroed memory already means: positions 0, every node Free at lap 0.
                       auto *control = reinterpret_cast<QueueControl *>(control_bytes);
                       for (std::uint32_t i = 0; i < node_count; ++i)
                         control->nodes()[i].word.store(NodeWord{0, NodeState::Free, 0}.encode());
                     })));
}

CircularBuffer CircularBuffer::open(const std::string &name) {
  return CircularBuffer(std::make_unique<Impl>(object::open(name, ObjectKind::Queue)));
}

const std::string &CircularBuffer::name() const { return impl_->handle.name; }
std::uint32_t CircularBuffer::node_count() const { return impl_->node_count; }
std::uint64_t CircularBuffer::node_size() const { return impl_->node_size; }

CircularBuffer::Counters CircularBuffer::counters() const {
  Counters counters;
  counters.written = impl_->control->enqueue_pos.load();
  counters.taken = impl_->control->dequeue_pos.load();
  counters.abandoned = impl_->control->abandoned.load();
  counters.lost = impl_->control->lost.load();
  return counters;
}

CircularBuffer::WriteLease CircularBuffer::acquire_write(Timeout timeout) {
  Impl &q = *impl_;
  std::uint64_t position = 0;
  WriteLease lease;
  LazyDeadline deadline(timeout);
  if (!q.claim([&](std::uint64_t &p, Blocked &b) { return q.try_claim_write(p, b); },
               q.control->enqueue_pos, q.space_channel, deadline, position, q.control->writer_cpu,
               q.control->reader_cpu, q.write_turns))
    return lease;
  lease.impl_ = &q;
  lease.position_ = position;
  lease.data_ = q.node_data(position);
  lease.capacity_ = q.node_size;
  return lease;
}

CircularBuffer::ReadLease CircularBuffer::acquire_read(Timeout timeout) {
  Impl &q = *impl_;
  LazyDeadline deadline(timeout);
  for (;;) {
    std::uint64_t position = 0;
    if (!q.claim([&](std::uint64_t &p, Blocked &b) { return q.try_claim_read(p, b); },
                 q.control->dequeue_pos, q.data_channel, deadline, position, q.control->reader_cpu,
                 q.control->writer_cpu, q.read_turns))
      return ReadLease();
    ReadLease lease;
    lease.impl_ = &q;
    lease.position_ = position;
    lease.data_ = q.node_data(position);
    // The size was written by another process: an impossible one makes the
    // item unreadable, never a read past the node.
    const std::uint64_t size = q.nodes[q.index_of(position)].size.load(std::memory_order_relaxed);
    if (size <= q.node_size) {
      lease.size_ = static_cast<std::size_t>(size);
      return lease;
    }
    q.control->lost.fetch_add(1, std::memory_order_relaxed);
    lease.release();
  }
}

bool CircularBuffer::write(const void *source, std::size_t size, Timeout timeout) {
  if (size > impl_->node_size)
    throw Error(ErrorCode::TooLarge,
                "an item of " + std::to_string(size) + " bytes does not fit circular buffer '" +
                    name() + "' of " + std::to_string(impl_->node_size) + "-byte nodes");
  WriteLease lease = acquire_write(timeout);
  if (!lease)
    return false;
  std::memcpy(lease.data(), source, size);
  lease.commit(size);
  return true;
}

std::optional<std::size_t> CircularBuffer::read(void *destination, std::size_t capacity,
                                                Timeout timeout) {
  if (capacity < impl_->node_size)
    throw Error(ErrorCode::InvalidArgument, "a read buffer of " + std::to_string(capacity) +
                                                " bytes could truncate items of circular buffer '" +
                                                name() + "' (" + std::to_string(impl_->node_size) +
                                                "-byte nodes)");
  ReadLease lease = acquire_read(timeout);
  if (!lease)
    return std::nullopt;
  std::memcpy(destination, lease.data(), lease.size());
  return lease.size();
}

}  // namespace shmring
