// The single writer of a broadcast ring. It creates the shared object, owns
// the name while it lives, and removes it on close().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shmring/record.hpp"
#include "shmring/timeout.hpp"

namespace shmring {

enum class WaitStatus { Ok, Timeout, Interrupted };

// What acquire() does when its deadline passes while blocking readers still
// have unread records in every free slot.
enum class AtDeadline {
  OverrunStalledReaders,  // overwrite their oldest unread records (they count them lost)
  GiveUp,                 // return Timeout: the caller reports the stalled reader
};

// The largest slot a ring can have (payload bytes).
inline constexpr std::uint64_t kMaxSlotSize = std::uint64_t{1} << 32;  // 4 GiB

struct WriterOptions {
  std::string name;  // object name, see object_name.hpp
  std::uint32_t slot_count = 8;
  std::uint64_t slot_size = 0;   // payload bytes per slot
  mode_t perms = 0600;           // 0640 with `group`, or 0644: others may read, never write
  UserSchema user{};             // the user area every record carries (none by default)
  std::optional<gid_t> group{};  // the ring's group (unset: this process's)
  // How long a wait for a free slot (or for readers) busy-polls before it
  // sleeps on the futex; 0: sleep at once. See ReaderOptions::spin_time.
  std::chrono::nanoseconds spin_time{0};
  // The sequence of the first record. A ring that carries on another's
  // stream (moved to bigger slots) goes on from its numbering, so that a
  // reader that comes late, or skips rings, can tell how many records it
  // missed from the sequences it sees.
  std::uint64_t first_sequence = 0;
};

// A slot lent to the writer's caller between acquire() and publish()/abandon().
struct WritableSlot {
  std::uint32_t index = 0;
  std::byte *data = nullptr;
  std::uint64_t capacity = 0;
};

struct ReaderInfo {
  std::uint32_t index = 0;  // entry in the participant table
  pid_t pid = 0;            // as the reader sees itself (display only)
  bool leaky = false;
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t identity = 0;  // ReaderOptions::identity (0: a reader that gave none)
  // This stay of the reader in its entry: a reader that leaves and one that
  // takes the same entry after it (even in the same process) differ in it.
  std::uint32_t session = 0;
};

struct WriterStats {
  std::uint64_t published = 0;          // records published (buffers and events)
  std::uint64_t overruns = 0;           // times a stalled blocking reader was overwritten
  std::uint64_t readers_reclaimed = 0;  // entries of dead readers taken back
  // Sleeps for a free slot or a reader that ran a whole liveness slice
  // without being woken: a reader that frees a slot or joins wakes the
  // writer at once, so these count waits in which nothing came.
  std::uint64_t slices_expired = 0;
};

// Thread-safe: one thread may publish while others acquire slots (a buffer
// pool lends slots to upstream threads) or read stats.
class Writer {
 public:
  // Throws Error: InvalidName, InvalidArgument (also perms without 0600,
  // see perms_problem), OwnerAlive (a live writer,
  // in any PID namespace), WrongKind, VersionMismatch, PermissionDenied,
  // NoSpace, System. A stale object whose writer died is replaced.
  static std::unique_ptr<Writer> create(const WriterOptions &options);
  // Throws what create() would throw because of an object already holding
  // `name` (a live writer, another user's object, another kind or version),
  // without creating anything: for a ring sized only later, so that a name
  // clash is known at once.
  static void check_name(const std::string &name);
  ~Writer();
  Writer(const Writer &) = delete;
  Writer &operator=(const Writer &) = delete;

  const std::string &name() const;
  std::uint32_t slot_count() const;
  std::uint64_t slot_size() const;
  // The sequence the next record published will have.
  std::uint64_t next_sequence() const;
  UserSchema user_schema() const;

  // Stores caps text in the caps table; returns the id records refer to.
  // Throws Error(InvalidArgument) if the text does not fit an entry. The
  // table holds the newest few caps; the entry this one takes over may still
  // be needed by a record a blocking reader has not read yet, or one a
  // reader holds: until `deadline` it waits for them (then takes it anyway,
  // and such a reader drops that record for want of its caps).
  std::uint64_t set_caps(std::string_view caps_text, Deadline deadline = Deadline{});

  // Lends a free slot: not held by any reader, not unread by a blocking
  // reader. Waits until the deadline; then, by default, stalled blocking
  // readers are overrun (counted), and Timeout means every slot is held by a
  // live reader. Returns Interrupted after interrupt(), or once *cancel
  // becomes true (a caller's own flag, e.g. a flushing buffer pool; set it,
  // then wake()).
  WaitStatus acquire(WritableSlot &out, Deadline deadline,
                     const std::atomic<bool> *cancel = nullptr,
                     AtDeadline at_deadline = AtDeadline::OverrunStalledReaders);
  // A slot if one is free now, as acquire() would lend it; false otherwise
  // (call acquire() to wait for one). Neither waits nor reads the clock: a
  // caller computes acquire()'s deadline only when it has to wait.
  bool try_acquire(WritableSlot &out);
  // Publishes the slot as the next sequence. record.size must fit the slot;
  // `user` is the record's user area (user.size bytes; null: zeros).
  void publish(const WritableSlot &slot, const RecordHeader &record, const void *user = nullptr);
  // Gives a lent slot back unpublished.
  void abandon(const WritableSlot &slot);

  // acquire + copy + publish. Throws Error(InvalidArgument) if size > slot size.
  WaitStatus write(const RecordHeader &record, const void *payload, Deadline deadline,
                   const void *user = nullptr);

  // Waits until at least one reader is attached.
  WaitStatus wait_for_reader(Deadline deadline);
  // Waits until `enough` holds for the attached readers (as readers() lists
  // them), looking again whenever a reader attaches, detaches or reads.
  WaitStatus wait_for_readers(const std::function<bool(const std::vector<ReaderInfo> &)> &enough,
                              Deadline deadline);

  // Attached readers, as they describe themselves (for stats and messages).
  std::vector<ReaderInfo> readers() const;
  // A value that changes when a reader attaches or detaches (its entry,
  // session and pid), without allocating: cheap enough to look at for every record, and
  // call readers() only when it changed. A reader present at the last
  // acquire is taken as that acquire found it (no look at the line the
  // reader writes on every read): a detach shows one record later.
  std::uint64_t readers_signature() const;
  // Takes back the entries and held slots of readers whose process is gone.
  // Returns how many were reclaimed.
  std::uint32_t reclaim_dead_readers();

  // Makes every wait of this writer return Interrupted until clear_interrupt().
  void interrupt();
  void clear_interrupt();
  // Wakes every wait so that it re-checks its cancel flag.
  void wake();

  // Tells readers that the writer is gone and removes the name. Idempotent.
  void close();
  // Gives up the name while the ring goes on working for those who have it
  // open, so that a successor (a ring of bigger slots) can be created under
  // it before this one's readers are told to move there. close() then leaves
  // the successor's name alone.
  void release_name();

  // Publishes the writer pipeline's latency (ns; kNoTime: unknown), which
  // readers add to theirs. Any thread, any time.
  void set_latency(std::uint64_t nanoseconds);

  WriterStats stats() const;

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring
