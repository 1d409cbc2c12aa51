#include "shmring/writer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>

#include "coarse_clock.hpp"
#include "futex.hpp"
#include "log.hpp"
#include "named_object.hpp"
#include "prefetch.hpp"
#include "ring_layout.hpp"
#include "same_cpu.hpp"
#include "shmring/error.hpp"

namespace shmring {

using namespace ring;
using object::kLivenessSlice;

namespace {

// How often the writer looks whether read-only readers are present; they
// wait twice as long after marking themselves present (reader.cpp).
constexpr auto kReadOnlyRecheck = std::chrono::milliseconds(5);
// The longest a read-only reader's hold on a slot holds the writer back: a
// copy takes microseconds (a 4K frame, a few milliseconds).
constexpr auto kReadOnlyHoldBound = std::chrono::milliseconds(50);
// Every how many records the writer shows readers which CPU it runs on.
constexpr std::uint64_t kShowCpuEvery = 64;
// How often a writer that never waits still sweeps for dead readers.
constexpr auto kIdleReclaimPeriod = std::chrono::seconds(1);
// A ring whose slots' worth of the latest record (slot count x its size)
// fits in this takes its slots in turn while only blocking readers read
// it; otherwise it reuses its warmest slot first. A quarter of this
// machine's L2: every slot's record stays in the caches either way.
constexpr std::uint64_t kInTurnWithin = 256 * 1024;
// How much of the next slot in turn the writer asks for ahead of writing it.
constexpr std::uint64_t kPrefetchAtMost = 4096;

// Mixes a word into the readers' signature: one multiply per word (it is
// computed for every record), a change detector rather than a hash of quality.
constexpr std::uint64_t kSignatureBasis = 14695981039346656037ull;
std::uint64_t signature_mix(std::uint64_t hash, std::uint64_t word) {
  hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
  return hash ^ (hash >> 29);
}
}  // namespace

struct Writer::Impl {
  object::Handle handle;
  object::Participants participants;
  ControlView view;
  RingControl *control = nullptr;
  std::byte *payload = nullptr;
  WakeChannel data_channel;
  WakeChannel space_channel;
  std::chrono::nanoseconds spin_time{0};  // WriterOptions::spin_time
  TurnTaking turns;                       // with readers on our CPU
  // The last look at the readers' entries (oldest_unread_by_blocking_readers),
  // lines readers write on every read: the participant entries' words then
  // (entries_key), the space word then (a detach bumps it), and which
  // entries were reading. While the first two are unchanged, so is which
  // entries read: readers_signature need not look again, and a writer
  // taking slots in turn may ride the look (last_look_holds).
  mutable std::atomic<std::uint64_t> looked_at_entries{0};
  mutable std::atomic<std::uint32_t> looked_at_space_word{0};
  mutable std::atomic<std::uint64_t> reading_entries{0};
  // ... and, under `lock`, the oldest record a blocking reader had not read
  // then, whether every reader reading was a blocking one, and whether the
  // look passed over none stalled (one that reads again must be waited for
  // from its next record on, so such a look is not ridden).
  mutable std::uint64_t looked_keep_from = 0;
  mutable bool looked_only_blocking = false;
  mutable bool look_rideable = false;

  // Guards everything below that is not atomic. Never held across a wait.
  mutable std::mutex lock;
  // The writer's own view of every slot: it never trusts shared words to know
  // what a slot holds or whether it lent it out.
  std::vector<std::uint64_t> slot_sequence;  // kNoSequence: never written
  std::vector<bool> slot_lent;
  std::vector<std::uint64_t> slot_caps;  // the caps id of the record in each slot
  // Cursor at which a blocking reader was overrun: the writer stops waiting
  // for it until that cursor moves, so a paused reader costs one timeout,
  // not one per frame.
  std::uint64_t stalled_cursor[kMaxParticipants];
  std::uint64_t next_sequence = 0;
  std::uint64_t bytes_published = 0;  // mirrored in RingControl::bytes_published
  std::uint64_t caps_counter = 0;
  WriterStats counters;
  std::atomic<bool> interrupted{false};
  std::atomic<bool> closed{false};
  // When read-only readers were last looked for, and whether there were
  // any: atomics, as waits look at them outside `lock`.
  mutable std::atomic<Clock::rep> read_only_checked{0};
  mutable std::atomic<bool> read_only_present{false};
  // Slots a read-only reader was found holding during the acquire numbered
  // `acquire_round` (it holds them for a copy: microseconds).
  std::uint64_t acquire_round = 1;
  // The slots of the two newest records, for find_free_slot's short cut.
  long newest_slot_index = -1;
  long second_newest_slot = -1;
  // Slots in turn: the one after the slot last lent, and the size of the
  // latest record (which decides whether slots are taken in turn).
  std::uint32_t next_in_turn = 0;
  std::uint64_t latest_record_size = 0;
  std::vector<std::uint64_t> read_only_held_in_round;
  std::vector<Deadline> read_only_held_since;  // first seen held; {} when not
  Deadline last_reclaim = Clock::now();

  Impl(object::Handle handle_, const Geometry &geometry)
      : handle(std::move(handle_)),
        participants(handle),
        view{handle.control(), geometry},
        control(view.control()),
        payload(handle.payload()),
        data_channel(control->data_word, control->data_waiters),
        space_channel(control->space_word, control->space_waiters),
        slot_sequence(geometry.slot_count, kNoSequence),
        slot_lent(geometry.slot_count, false),
        slot_caps(geometry.slot_count, 0),
        read_only_held_in_round(geometry.slot_count, 0),
        read_only_held_since(geometry.slot_count) {
    std::fill(std::begin(stalled_cursor), std::end(stalled_cursor), kNoSequence);
  }

  bool is_reading(std::uint32_t i) const {
    return participants.active(i) && view.reader(i)->mode.load(std::memory_order_acquire) ==
                                         static_cast<std::uint32_t>(ReaderMode::Reading);
  }

  bool is_blocking_reader(std::uint32_t i) const {
    return is_reading(i) && view.reader(i)->policy.load(std::memory_order_relaxed) ==
                                static_cast<std::uint32_t>(ReaderPolicy::Block);
  }

  // Called when the wait for space has run out: every blocking reader that
  // still has unread records is let go until it reads again.
  void mark_blocking_readers_stalled() {
    look_rideable = false;
    object::for_each_bit(participants.occupied(), [&](std::uint32_t i) {
      if (!is_blocking_reader(i))
        return;
      const std::uint64_t cursor = view.reader(i)->cursor.load(std::memory_order_acquire);
      if (cursor < next_sequence)
        stalled_cursor[i] = cursor;
    });
  }

  // Which entries are occupied, in which state and session: read from the
  // object header, whose entries change only at joins and leaves (a claim,
  // the activation, a leave and a reap each change an entry's word).
  std::uint64_t entries_key(std::uint64_t occupied) const {
    std::uint64_t key = signature_mix(kSignatureBasis, occupied);
    object::for_each_bit(occupied, [&](std::uint32_t i) {
      key = signature_mix(signature_mix(key, i), participants.word(i));
    });
    return key;
  }

  // Whether no reader came, went or detached since the last look.
  bool entries_as_looked() const {
    return control->space_word.load(std::memory_order_seq_cst) ==
               looked_at_space_word.load(std::memory_order_relaxed) &&
           entries_key(participants.occupied()) ==
               looked_at_entries.load(std::memory_order_relaxed);
  }

  // Lowest sequence that some active blocking reader has not read yet.
  // Notes which entries were reading, for readers_signature().
  std::uint64_t oldest_unread_by_blocking_readers() const {
    // The entries and the space word before the look: a change during it
    // shows at the next ride as a change since.
    const std::uint32_t space_word = control->space_word.load(std::memory_order_seq_cst);
    const std::uint64_t occupied = participants.occupied();
    const std::uint64_t key = entries_key(occupied);
    std::uint64_t oldest = next_sequence;
    std::uint64_t reading = 0;
    bool only_blocking = true, any_stalled = false;
    object::for_each_bit(occupied, [&](std::uint32_t i) {
      if (!is_reading(i))
        return;
      reading |= std::uint64_t{1} << i;
      if (view.reader(i)->policy.load(std::memory_order_relaxed) !=
          static_cast<std::uint32_t>(ReaderPolicy::Block)) {
        only_blocking = false;
        return;
      }
      // Reader-written: a cursor beyond what exists is treated as caught up.
      const std::uint64_t cursor = view.reader(i)->cursor.load(std::memory_order_acquire);
      any_stalled |= cursor == stalled_cursor[i];
      if (cursor != stalled_cursor[i] && cursor < oldest)
        oldest = cursor;
    });
    looked_at_entries.store(key, std::memory_order_relaxed);
    looked_at_space_word.store(space_word, std::memory_order_relaxed);
    reading_entries.store(reading, std::memory_order_relaxed);
    looked_keep_from = oldest;
    looked_only_blocking = only_blocking;
    look_rideable = !any_stalled;
    return oldest;
  }

  // A free slot, or -1: a slot holding a sequence that a blocking reader has
  // yet to read is not free.
  //
  // Small records take the free slots in turn (takes_slots_in_turn). For
  // larger ones the most recently written free slot is reused first: its
  // pages are still in the cache, so the next frame is written into warm
  // memory (with 8 slots of 1080p, cycling through all of them runs 40%
  // slower). Two exceptions keep readers served: the newest record is taken
  // last, since a late joiner and a leaky reader start there; and slots never
  // written are taken only when no written one is free, so the working set
  // stays as small as the readers allow.
  // Readers without write access (read-only, another user's) are present
  // by a shared lock, and hold slots by shared locks: looking costs a system
  // call, so their presence is looked at no more than every
  // kReadOnlyRecheck. A read-only reader waits longer than that after it
  // marks itself present before it holds anything, so a claim never misses
  // its holds.
  //
  // The tick-resolution clock is enough to keep that bound (it is read as
  // if it were one tick late), and costs a fraction of a precise read, which
  // would be paid for every record.
  bool read_only_readers() const {
    static const Clock::duration recheck_after =
        kReadOnlyRecheck > coarse_resolution()
            ? std::chrono::duration_cast<Clock::duration>(kReadOnlyRecheck) - coarse_resolution()
            : Clock::duration(0);
    const Clock::rep stamp = coarse_now().time_since_epoch().count();
    if (stamp - read_only_checked.load(std::memory_order_relaxed) >= recheck_after.count()) {
      read_only_present.store(handle.object.byte_held_elsewhere(object::kReadOnlyReaderByte),
                              std::memory_order_relaxed);
      read_only_checked.store(stamp, std::memory_order_relaxed);
    }
    return read_only_present.load(std::memory_order_relaxed);
  }

  bool held_read_only(std::uint32_t index) const {
    return read_only_readers() && handle.object.byte_held_elsewhere(object::kSlotHoldBytes + index);
  }

  // Whether a record naming caps `id` may still be read: unread by a
  // blocking reader, or held by a reader (which looks its caps up next).
  bool caps_in_use(std::uint64_t id) const {
    const std::uint64_t keep_from = oldest_unread_by_blocking_readers();
    for (std::uint32_t i = 0; i < view.geometry.slot_count; ++i) {
      if (slot_caps[i] != id || slot_sequence[i] == kNoSequence)
        continue;
      if (slot_sequence[i] >= keep_from || held_by_reader(i))
        return true;
    }
    return false;
  }

  // Whether a reader holds slot i: its holder word, which readers write (each
  // look is a cache line from another core, so looked at last).
  bool held_by_reader(std::uint32_t i) const {
    return view.slot(i)->holders.load(std::memory_order_seq_cst) != 0;
  }

  // Whether our own records let us lend slot i: not lent, not held by a
  // read-only reader this round.
  bool ours_to_lend(std::uint32_t i) const {
    return !slot_lent[i] && read_only_held_in_round[i] != acquire_round;
  }

  // Whether slot i is out of everybody's hands.
  bool slot_unheld(std::uint32_t i) const { return ours_to_lend(i) && !held_by_reader(i); }

  // ... and not unread by a blocking reader either: it may be lent now.
  bool slot_free(std::uint32_t i, std::uint64_t keep_from) const {
    // Our own record first: a writer polling a ring full of unread records
    // looks at no holder word.
    return (slot_sequence[i] == kNoSequence || slot_sequence[i] < keep_from) && slot_unheld(i);
  }

  long find_free_slot() const {
    if (last_look_holds() && slot_free(next_in_turn, looked_keep_from))
      return next_in_turn;
    const std::uint64_t keep_from = oldest_unread_by_blocking_readers();
    return takes_slots_in_turn() ? free_slot_in_turn(keep_from) : warmest_free_slot(keep_from);
  }

  // Small records take the slots in turn, as a queue takes its nodes: the
  // writer then writes lines its readers let go of a lap ago rather than
  // the one a reader is on, and runs up to a lap ahead of them. Not beside
  // a leaky or read-only reader, which asks for the newest record: a lap of
  // old ones kept for it would be read one by one.
  bool takes_slots_in_turn() const {
    return looked_only_blocking && small_records() && !read_only_readers();
  }

  bool small_records() const {
    return std::uint64_t{view.geometry.slot_count} * latest_record_size <= kInTurnWithin;
  }

  // Whether a writer taking slots in turn may judge the slot in turn by its
  // last look at the readers instead of taking a new one (whose loads of
  // the lines readers write on every read were half of a small record's
  // cost), as rigtorp's SPSC queue reads the other side's index only when
  // its copy says full. Every record before that look's oldest unread one
  // stays read by every reader the look saw: cursors only move on. A reader
  // it did not see is one whose entry turned active since (its word
  // changed: entries_as_looked). If this check missed that activation, it
  // came before the activation in the single order of seq_cst operations,
  // and so did our store of the write sequence before it: the reader's
  // load of the write sequence after its activation (Reader's join) sees
  // every record published before this claim, the one in the slot in turn
  // among them, and counts none of them as its own.
  bool last_look_holds() const {
    return look_rideable && takes_slots_in_turn() && entries_as_looked();
  }

  // The first free slot from the slot in turn on, or -1.
  long free_slot_in_turn(std::uint64_t keep_from) const {
    const std::uint32_t count = view.geometry.slot_count;
    for (std::uint32_t k = 0; k < count; ++k) {
      const std::uint32_t i = (next_in_turn + k) % count;
      if (slot_free(i, keep_from))
        return i;
    }
    return -1;
  }

  // Asks for the next slot in turn ahead of writing it (its header and the
  // first bytes of its payload, as much as the latest record used): the
  // lines are a reader's from a lap ago, and a store that has to fetch them
  // holds up the publish's ordering until they come.
  void prefetch_next_in_turn() const {
    prefetch_for_write(view.slot(next_in_turn));
    const std::byte *data = payload + next_in_turn * view.geometry.slot_stride;
    const std::uint64_t bytes =
        std::max<std::uint64_t>(std::min(latest_record_size, kPrefetchAtMost), 1);
    for (std::uint64_t offset = 0; offset < bytes; offset += kCacheLine)
      prefetch_for_write(data + offset);
  }

  // The warmest free slot, or -1.
  long warmest_free_slot(std::uint64_t keep_from) const {
    const std::uint64_t newest = next_sequence == 0 ? kNoSequence : next_sequence - 1;
    // The usual answer without looking at every slot (whose holder words
    // readers write: each look is a cache line from another core): the
    // slot of the record before the newest, which the scan below would pick
    // when it is free, the readers having read it.
    if (second_newest_slot >= 0 && next_sequence >= 2 &&
        slot_sequence[second_newest_slot] == next_sequence - 2 &&
        slot_free(static_cast<std::uint32_t>(second_newest_slot), keep_from))
      return second_newest_slot;
    // Otherwise the choice is made from our own records first, with a look
    // at the holder word of the pick alone; only should a reader hold it,
    // at those of every slot it could fall on. A ring full of unread records
    // (a writer polling for a slot a slow reader frees) costs no look at all.
    const long pick = best_slot(keep_from, newest, false);
    if (pick < 0 || !held_by_reader(static_cast<std::uint32_t>(pick)))
      return pick;
    return best_slot(keep_from, newest, true);
  }

  long best_slot(std::uint64_t keep_from, std::uint64_t newest, bool look_at_holders) const {
    long recent = -1, never_written = -1, newest_slot = -1;
    for (std::uint32_t i = 0; i < view.geometry.slot_count; ++i) {
      if (!ours_to_lend(i))
        continue;
      const std::uint64_t held = slot_sequence[i];
      if (held != kNoSequence && held >= keep_from)
        continue;  // unread by a blocking reader
      if (look_at_holders && held_by_reader(i))
        continue;
      if (held == kNoSequence) {
        if (never_written < 0)
          never_written = i;
      } else if (held == newest) {
        newest_slot = i;
      } else if (recent < 0 || held > slot_sequence[recent]) {
        recent = i;
      }
    }
    return recent >= 0 ? recent : never_written >= 0 ? never_written : newest_slot;
  }

  // Takes the slot away from readers. A reader sets its holder bit before it
  // re-checks seq; we mark seq before we re-check the holders: with seq_cst on
  // both sides at least one of us sees the other (Dekker).
  bool claim(std::uint32_t index) {
    SlotMeta *slot = view.slot(index);
    const std::uint64_t previous = slot->seq.load(std::memory_order_relaxed);
    slot->seq.store(kBeingWritten, std::memory_order_seq_cst);
    if (slot->holders.load(std::memory_order_seq_cst) != 0) {
      // A reader got there first; its data is untouched, so put seq back.
      slot->seq.store(previous, std::memory_order_seq_cst);
      return false;
    }
    if (held_read_only(index)) {
      // A read-only reader holds it (one system call here, rather than one
      // per slot looked at): pass it over for the rest of this acquire.
      // Such a hold lasts for one copy; one older than kReadOnlyHoldBound
      // is somebody with read access pinning slots, and is overridden (an
      // honest reader finds its copy overwritten and drops it).
      const Deadline now = Clock::now();
      if (read_only_held_since[index] == Deadline{})
        read_only_held_since[index] = now;
      if (now - read_only_held_since[index] < kReadOnlyHoldBound) {
        read_only_held_in_round[index] = acquire_round;
        slot->seq.store(previous, std::memory_order_seq_cst);
        return false;
      }
    }
    read_only_held_since[index] = Deadline{};
    slot_lent[index] = true;
    slot_sequence[index] = kNoSequence;
    next_in_turn = (index + 1) % view.geometry.slot_count;
    if (looked_only_blocking && small_records())
      prefetch_next_in_turn();
    return true;
  }

  // Lends a slot free now (under `lock`); false when there is none.
  bool claim_free_slot(WritableSlot &out) {
    for (;;) {
      const long index = find_free_slot();
      if (index < 0)
        return false;
      if (claim(static_cast<std::uint32_t>(index))) {
        out = lent(static_cast<std::uint32_t>(index));
        return true;
      }
      // Lost a race with a reader's hold: the next look passes that slot over.
    }
  }

  // What the caller gets for a slot claim() took.
  WritableSlot lent(std::uint32_t index) const {
    return WritableSlot{index, payload + index * view.geometry.slot_stride,
                        view.geometry.slot_size};
  }

  // Takes back the holder bits of readers whose process is gone, and their
  // participant entries.
  std::uint32_t reclaim_dead_readers() {
    last_reclaim = Clock::now();
    const std::uint32_t reclaimed =
        participants.reap(object::Participants::kNone, [this](std::uint32_t i) {
          const std::uint64_t bit = std::uint64_t{1} << i;
          for (std::uint32_t s = 0; s < view.geometry.slot_count; ++s)
            view.slot(s)->holders.fetch_and(~bit, std::memory_order_seq_cst);
          stalled_cursor[i] = kNoSequence;
        });
    counters.readers_reclaimed += reclaimed;
    look_rideable = false;
    if (reclaimed)
      SHMRING_LOG(Info, "ring '" + handle.name + "': reclaimed " + std::to_string(reclaimed) +
                            " dead reader(s) and their slots");
    return reclaimed;
  }

  void maybe_reclaim_dead_readers() {
    if (coarse_now() - last_reclaim >= kIdleReclaimPeriod)
      reclaim_dead_readers();
  }

  void check_fits(std::uint64_t size) const {
    if (size > view.geometry.slot_size)
      throw Error(ErrorCode::InvalidArgument, "record of " + std::to_string(size) +
                                                  " bytes does not fit a slot of " +
                                                  std::to_string(view.geometry.slot_size));
  }

  // Whether a blocking reader runs on our CPU (as of its latest read):
  // then a poll for the slot it frees yields to it rather than spins. (A
  // leaky reader never holds the writer back for long: yielding to it
  // while a blocking reader elsewhere keeps the slot only spun on the
  // writer's CPU.)
  bool reader_on_this_cpu() const {
    const std::uint32_t here = current_cpu_tag();
    bool found = false;
    object::for_each_bit(participants.occupied(), [&](std::uint32_t i) {
      found |= here != 0 && is_blocking_reader(i) &&
               view.reader(i)->cpu.load(std::memory_order_relaxed) == here;
    });
    return found;
  }

  bool any_reader_attached() const {
    if (handle.object.byte_held_elsewhere(object::kReadOnlyReaderByte))
      return true;
    bool any = false;
    object::for_each_bit(participants.occupied(), [&](std::uint32_t i) { any |= is_reading(i); });
    return any;
  }

  // Sleeps on the space channel until `ready`, the deadline, or the next
  // liveness slice. Returns false once the deadline has passed.
  //
  // Until `spin_until` it polls instead (the spin budget of one acquire:
  // readers free slots without a system call while nobody sleeps), and
  // reclaims dead readers as often as a sleeping writer would.
  template <typename Ready>
  bool wait_for_space(Ready ready, Deadline deadline, Deadline spin_until = Deadline{}) {
    if (Clock::now() < spin_until) {
      Deadline last_reclaim_look = Clock::now();
      const Deadline spin_end = std::min(deadline, spin_until);
      // Looked at after each yield, and at the start of a wait if the last
      // wait found a reader here; else only once most waits are over (the
      // readers' entries are lines they write on every read).
      bool reader_here = turns.peer_was_here() && reader_on_this_cpu();
      int spins = reader_here ? kSpinsBeforeLook : 0, yields = 0;
      show_cpu(control->writer_cpu);
      bool sleep_now = false;
      do {
        if (interrupted.load() || ready())
          return true;
        // At the latest when the poll would end: 64 spins outlast its 10 us
        // in a slow build (coverage, sanitizers), and a writer that never
        // looked slept every turn.
        if (spins < kSpinsBeforeLook && (++spins == kSpinsBeforeLook || Clock::now() >= spin_end)) {
          spins = kSpinsBeforeLook;
          reader_here = reader_on_this_cpu();
          turns.set_peer_was_here(reader_here);
        }
        const TurnTaking::Step step = turns.step(reader_here, yields);
        sleep_now = step.sleep_now;
        if (step.yielded)
          reader_here = reader_on_this_cpu();
        if (Clock::now() - last_reclaim_look >= kLivenessSlice) {
          std::lock_guard<std::mutex> guard(lock);
          reclaim_dead_readers();
          last_reclaim_look = Clock::now();
        }
      } while (!sleep_now && Clock::now() < (reader_here ? deadline : spin_end));
      if (!sleep_now)
        return Clock::now() < deadline;
      // A reader on our CPU is not taking a turn now: sleep, not spin.
    }
    // Read-only readers cannot wake us when they let go of a slot: look
    // again soon while they are there.
    // (They hold a slot only for a copy: microseconds.)
    const auto slice = read_only_readers()
                           ? std::chrono::microseconds(200)
                           : std::chrono::duration_cast<std::chrono::microseconds>(kLivenessSlice);
    const Deadline slice_end = std::min(deadline, Clock::now() + slice);
    if (!space_channel.wait([&] { return interrupted.load() || ready(); }, slice_end)) {
      std::lock_guard<std::mutex> guard(lock);
      if (slice_end < deadline)
        ++counters.slices_expired;
      reclaim_dead_readers();
      return Clock::now() < deadline;
    }
    return true;
  }
};

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Writer::~Writer() { close(); }

void Writer::check_name(const std::string &name) {
  object::check_name_free(name, ObjectKind::Ring);
}

std::unique_ptr<Writer> Writer::create(const WriterOptions &options) {
  const object::Params params = params_for(options.slot_count, options.slot_size, options.user);
  Geometry geometry;
  if (!compute_geometry(params, geometry))
    throw Error(ErrorCode::InvalidArgument,
                "ring '" + options.name + "': " + std::to_string(options.slot_count) +
                    " slots of " + std::to_string(options.slot_size) +
                    " bytes is out of range (slots " + std::to_string(kMinSlots) + ".." +
                    std::to_string(kMaxSlots) + ", slot size 1.." + std::to_string(kMaxSlotSize) +
                    ", user area 0.." + std::to_string(kMaxUserArea) + " bytes)");
  object::Handle handle = object::create(
      options.name, ObjectKind::Ring, params, options.perms,
      [&geometry, &options](std::byte *control, const object::Layout &) {
        init_control(ControlView{control, geometry});
        ControlView{control, geometry}.control()->write_seq.store(options.first_sequence,
                                                                  std::memory_order_relaxed);
      },
      0, options.group);
  auto impl = std::make_unique<Impl>(std::move(handle), geometry);
  impl->next_sequence = options.first_sequence;
  impl->spin_time = std::max(options.spin_time, std::chrono::nanoseconds(0));
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

const std::string &Writer::name() const { return impl_->handle.name; }

void Writer::set_latency(std::uint64_t nanoseconds) {
  impl_->control->writer_latency.store(nanoseconds, std::memory_order_relaxed);
}
std::uint64_t Writer::next_sequence() const {
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->next_sequence;
}
std::uint32_t Writer::slot_count() const { return impl_->view.geometry.slot_count; }
std::uint64_t Writer::slot_size() const { return impl_->view.geometry.slot_size; }
UserSchema Writer::user_schema() const { return impl_->view.geometry.user; }

std::uint64_t Writer::set_caps(std::string_view caps_text, Deadline deadline) {
  if (caps_text.size() > kCapsCapacity)
    throw Error(ErrorCode::InvalidArgument, "caps of " + std::to_string(caps_text.size()) +
                                                " characters do not fit a caps entry of " +
                                                std::to_string(kCapsCapacity));
  Impl &w = *impl_;
  const auto displaced_in_use = [&w] {
    std::lock_guard<std::mutex> guard(w.lock);
    return w.caps_counter + 1 > kCapsEntries && w.caps_in_use(w.caps_counter + 1 - kCapsEntries);
  };
  while (!w.interrupted.load() && Clock::now() < deadline && displaced_in_use())
    w.wait_for_space([&] { return w.interrupted.load() || !displaced_in_use(); }, deadline);
  std::lock_guard<std::mutex> guard(impl_->lock);
  const std::uint64_t id = ++w.caps_counter;
  CapsEntry *entry = w.view.caps(id);
  // Seqlock: readers copy, then check that the id did not change meanwhile.
  entry->id.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(entry->text, caps_text.data(), caps_text.size());
  entry->length.store(static_cast<std::uint32_t>(caps_text.size()), std::memory_order_relaxed);
  entry->id.store(id, std::memory_order_release);
  w.control->caps_id.store(id, std::memory_order_release);
  return id;
}

WaitStatus Writer::acquire(WritableSlot &out, Deadline deadline, const std::atomic<bool> *cancel,
                           AtDeadline at_deadline) {
  Impl &w = *impl_;
  auto cancelled = [&] { return w.interrupted.load() || (cancel && cancel->load()); };
  auto lend = [&](long index) { out = w.lent(static_cast<std::uint32_t>(index)); };
  bool first_look = true;
  // When this acquire first had to wait, for its DEBUG line.
  Deadline waited_from{};
  auto log_wait = [&](const char *outcome) {
    if (waited_from != Deadline{})
      SHMRING_LOG(Debug, "ring '" + w.handle.name + "': waited " +
                             std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                Clock::now() - waited_from)
                                                .count()) +
                             " us for a free slot (readers held or had not read them): " + outcome);
  };
  for (;;) {
    if (cancelled()) {
      log_wait("interrupted");
      return WaitStatus::Interrupted;
    }
    {
      std::lock_guard<std::mutex> guard(w.lock);
      if (first_look) {  // once per acquire, under the lock the look takes anyway
        w.maybe_reclaim_dead_readers();
        ++w.acquire_round;
        first_look = false;
      }
      if (w.claim_free_slot(out)) {
        log_wait("got one");
        return WaitStatus::Ok;
      }
      if (Clock::now() >= deadline) {
        // The wait is over. A dead reader's slots may have come back; if
        // not, a blocking reader that has not moved loses frames rather than
        // stopping the stream (unless the caller would rather stop). Slots
        // that readers hold stay theirs either way.
        w.reclaim_dead_readers();
        long index = w.find_free_slot();
        bool overrun = false;
        if (index < 0 && at_deadline == AtDeadline::OverrunStalledReaders) {
          w.mark_blocking_readers_stalled();
          index = w.find_free_slot();
          overrun = index >= 0;
        }
        if (index >= 0 && w.claim(static_cast<std::uint32_t>(index))) {
          if (overrun)
            ++w.counters.overruns;
          lend(index);
          log_wait(overrun ? "overran a stalled blocking reader" : "got one at the deadline");
          return WaitStatus::Ok;
        }
        log_wait("timed out");
        return WaitStatus::Timeout;
      }
    }
    {
      // After the wait, slots read-only readers held may be free again.
      std::lock_guard<std::mutex> guard(w.lock);
      ++w.acquire_round;
    }
    if (waited_from == Deadline{})
      waited_from = Clock::now();
    w.wait_for_space(
        [&] {
          if (cancelled())
            return true;
          std::lock_guard<std::mutex> guard(w.lock);
          return w.find_free_slot() >= 0;
        },
        deadline, waited_from + std::max<std::chrono::nanoseconds>(w.spin_time, kPollBeforeSleep));
  }
}

bool Writer::try_acquire(WritableSlot &out) {
  Impl &w = *impl_;
  if (w.interrupted.load())
    return false;
  std::lock_guard<std::mutex> guard(w.lock);
  w.maybe_reclaim_dead_readers();
  ++w.acquire_round;
  return w.claim_free_slot(out);
}

void Writer::publish(const WritableSlot &slot, const RecordHeader &record, const void *user) {
  Impl &w = *impl_;
  std::lock_guard<std::mutex> guard(w.lock);
  if (slot.index >= w.view.geometry.slot_count || !w.slot_lent[slot.index])
    throw Error(ErrorCode::InvalidArgument, "publish of a slot that was not acquired");
  w.check_fits(record.size);
  const std::uint64_t sequence = w.next_sequence++;
  SlotMeta *meta = w.view.slot(slot.index);
  meta->record = record;
  const std::uint32_t user_size = w.view.geometry.user.size;
  if (user)
    std::memcpy(meta->user(), user, user_size);
  else
    std::memset(meta->user(), 0, user_size);
  meta->record.publish_time = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
  meta->seq.store(sequence, std::memory_order_release);
  w.slot_lent[slot.index] = false;
  w.slot_sequence[slot.index] = sequence;
  w.slot_caps[slot.index] = record.caps_id;
  w.latest_record_size = record.size;
  w.second_newest_slot = w.newest_slot_index;
  w.newest_slot_index = slot.index;

  Descriptor *descriptor = w.view.descriptor(sequence);
  descriptor->seq.store(kNoSequence, std::memory_order_relaxed);
  descriptor->slot.store(slot.index, std::memory_order_relaxed);
  descriptor->seq.store(sequence, std::memory_order_release);

  // Where we run, for readers deciding whether to yield to us: every 64th
  // record (on every one it cost 20% of the core ring's 64 B rate) and at
  // each wait for space.
  if ((sequence & (kShowCpuEvery - 1)) == 0)
    show_cpu(w.control->writer_cpu);
  // The byte count shares write_seq's line and is stored before it: a
  // waiting reader loads that line as soon as write_seq moves, and a store
  // after it would fetch the line back from the reader's core once more.
  w.bytes_published += record.size;  // writer-only: a plain store, no read-modify-write
  w.control->bytes_published.store(w.bytes_published, std::memory_order_relaxed);
  w.control->write_seq.store(sequence + 1, std::memory_order_seq_cst);
  ++w.counters.published;
  // Read-only readers cannot count themselves as waiters: wake always.
  if (w.read_only_readers())
    w.data_channel.notify_forced();
  else
    w.data_channel.notify_after_seq_cst_change();  // after write_seq's seq_cst store
}

void Writer::abandon(const WritableSlot &slot) {
  Impl &w = *impl_;
  std::lock_guard<std::mutex> guard(w.lock);
  if (slot.index < w.view.geometry.slot_count && w.slot_lent[slot.index]) {
    w.view.slot(slot.index)->seq.store(kNoSequence, std::memory_order_release);
    w.slot_lent[slot.index] = false;
  }
}

WaitStatus Writer::write(const RecordHeader &record, const void *payload, Deadline deadline,
                         const void *user) {
  impl_->check_fits(record.size);  // before a slot is lent, not after
  WritableSlot slot;
  WaitStatus status = acquire(slot, deadline);
  if (status != WaitStatus::Ok)
    return status;
  if (record.size > 0)
    std::memcpy(slot.data, payload, record.size);
  publish(slot, record, user);
  return WaitStatus::Ok;
}

WaitStatus Writer::wait_for_reader(Deadline deadline) {
  Impl &w = *impl_;
  for (;;) {
    if (w.interrupted.load())
      return WaitStatus::Interrupted;
    if (w.any_reader_attached())
      return WaitStatus::Ok;
    if (!w.wait_for_space([&] { return w.any_reader_attached(); }, deadline))
      return WaitStatus::Timeout;
  }
}

WaitStatus Writer::wait_for_readers(
    const std::function<bool(const std::vector<ReaderInfo> &)> &enough, Deadline deadline) {
  Impl &w = *impl_;
  for (;;) {
    if (w.interrupted.load())
      return WaitStatus::Interrupted;
    if (enough(readers()))
      return WaitStatus::Ok;
    // A reader attaching or detaching wakes the space channel; so does
    // every read, which is what the readers being waited for are doing.
    if (!w.wait_for_space([&] { return enough(readers()); }, deadline))
      return WaitStatus::Timeout;
  }
}

std::vector<ReaderInfo> Writer::readers() const {
  std::vector<ReaderInfo> result;
  object::for_each_bit(impl_->participants.occupied(), [&](std::uint32_t i) {
    if (!impl_->is_reading(i))
      return;
    const RingReader *entry = impl_->view.reader(i);
    ReaderInfo info;
    info.index = i;
    info.pid = impl_->participants.pid(i);
    info.leaky = entry->policy.load(std::memory_order_relaxed) ==
                 static_cast<std::uint32_t>(ReaderPolicy::Leaky);
    info.received = entry->received.load(std::memory_order_relaxed);
    info.lost = entry->lost.load(std::memory_order_relaxed);
    info.identity = entry->identity.load(std::memory_order_relaxed);
    info.session = impl_->participants.generation(i);
    result.push_back(info);
  });
  return result;
}

std::uint64_t Writer::readers_signature() const {
  // A mix of (entry, session, pid) of every reading entry, in entry
  // order. While no reader came, went or detached since the last look at
  // the readers (entries_as_looked), which of them read is taken as that
  // look found it; otherwise each is looked at.
  const std::uint64_t occupied = impl_->participants.occupied();
  const bool as_looked = impl_->entries_as_looked();
  const std::uint64_t reading = impl_->reading_entries.load(std::memory_order_relaxed);
  std::uint64_t signature = kSignatureBasis;
  object::for_each_bit(occupied, [&](std::uint32_t i) {
    if (as_looked ? !(reading & (std::uint64_t{1} << i)) : !impl_->is_reading(i))
      return;
    signature =
        signature_mix(signature, std::uint64_t{i} << 32 | impl_->participants.generation(i));
    signature = signature_mix(signature, static_cast<std::uint32_t>(impl_->participants.pid(i)));
  });
  return signature;
}

std::uint32_t Writer::reclaim_dead_readers() {
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->reclaim_dead_readers();
}

void Writer::interrupt() {
  impl_->interrupted.store(true);
  impl_->space_channel.notify_forced();
}

void Writer::clear_interrupt() { impl_->interrupted.store(false); }

void Writer::wake() { impl_->space_channel.notify_forced(); }

void Writer::close() {
  Impl &w = *impl_;
  if (!w.handle.in_opener())
    return;  // a forked child's copy: the ring is the parent's
  if (w.closed.exchange(true))
    return;
  w.control->writer_state.store(static_cast<std::uint32_t>(WriterState::Closed),
                                std::memory_order_seq_cst);
  w.data_channel.notify_forced();
  w.handle.object.unlink_if_still_named();
}

void Writer::release_name() {
  Impl &w = *impl_;
  if (w.handle.in_opener())
    w.handle.object.unlink_if_still_named();
}

WriterStats Writer::stats() const {
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->counters;
}

}  // namespace shmring
