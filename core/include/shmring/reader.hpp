// One reader of a broadcast ring. Every reader sees every record unless it
// falls behind and is leaky (or is overrun after the writer's timeout); then
// it skips to the newest record and counts what it lost.
//
// A frame returned by next() stays valid, and the writer keeps away from its
// slot, until release() is called for it; the Reader object (and so the
// mapping) lives until the last frame is released: hold it by shared_ptr.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "shmring/record.hpp"
#include "shmring/timeout.hpp"

namespace shmring {

struct ReaderOptions {
  std::string name;
  bool leaky = false;  // false: the writer waits for this reader (bounded by its timeout)
  // The user area this reader understands. A ring created with another
  // schema is Error(VersionMismatch), never bytes it would misread.
  UserSchema user{};
  // The user whose rings this reader trusts; unset: its own user or root.
  // A ring of anybody else is Error(PermissionDenied), naming its owner.
  std::optional<uid_t> trusted_owner{};
  // How long next() busy-polls for a record before it sleeps on the futex:
  // latency in the hundreds of nanoseconds instead of a wake-up's tens of
  // microseconds, for a core's time while it polls. 0: sleep at once
  // (after a few dozen polls).
  std::chrono::nanoseconds spin_time{0};
  // A number that names this reader across rings: a writer that moves its
  // stream to a ring of bigger slots waits for its readers to reattach, and
  // knows them by it (pids are not unique across PID namespaces). A reader
  // that reopens a ring passes the same number again; 0: a random one.
  std::uint64_t identity = 0;
};

enum class ReadStatus {
  Frame,         // `out` holds a record; release(out.slot) when done with it
  Timeout,       // nothing new before the deadline
  Interrupted,   // interrupt() was called
  WriterClosed,  // the writer closed the ring and everything was read
  WriterDead,    // the writer's process is gone without closing
};

struct Frame {
  RecordHeader record;
  const std::byte *data = nullptr;  // record.size bytes, read-only
  std::uint32_t slot = 0;
  std::uint64_t sequence = 0;
  std::uint64_t lost_before = 0;  // records skipped since the frame before this one
  // Times the shared state was found implausible (a sequence past the
  // writer) and this reader resynchronised, just before this record.
  std::uint64_t resyncs_before = 0;
  // The record's user area (UserSchema::size bytes), copied out while the
  // slot was held: the application validates it before trusting it.
  alignas(8) std::byte user[kMaxUserArea];
};

struct ReaderCounters {
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t resyncs = 0;  // implausible shared state found and recovered from
  // Sleeps that ended at their liveness slice (kLivenessSlice) rather than by
  // the writer's wake-up: each time, the reader checked that the writer
  // lives. A reader that is woken when a frame arrives counts none for it.
  std::uint64_t slices_expired = 0;
};

// The ring's shared words are written by other processes and are never
// trusted: a write sequence that its descriptor does not confirm is not
// followed (no skip, no loss counted), and a cursor found past the writer
// is resynchronised to the writer (counted in `resyncs`), so that corrupt
// state is a hiccup, never a reader waiting for a sequence that will not
// come.
class Reader {
 public:
  // Opens read-write, or read-only when this user may only read the ring.
  // Throws Error: InvalidName, NotFound (no ring yet), NotReady (being
  // created, or not yet shared with this user by its writer), Corrupt, VersionMismatch, WrongKind, HandlesFull,
  // PermissionDenied, System.
  static std::shared_ptr<Reader> open(const ReaderOptions &options);
  ~Reader();
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;

  ReadStatus next(Frame &out, Deadline deadline);
  // The next record if it is there to read now, as next() would return it
  // (a reader a ring behind gets the newest, counting what it skipped);
  // false otherwise (call next() to wait for it). Neither waits nor reads
  // the clock: a caller that reads in slices computes its deadline only
  // when it has to wait.
  bool try_next(Frame &out);
  void release(std::uint32_t slot);

  // The caps text for an id found in a record; nullopt if the writer has
  // reused that entry since (this reader fell far behind) or it is invalid.
  std::optional<std::string> caps(std::uint64_t id) const;

  // Stops reading: the writer no longer waits for this reader; frames not
  // yet released stay valid. (The last reader to let go of a ring whose
  // writer died removes it: a dead writer's memory is not left behind.)
  void detach();

  void interrupt();
  void clear_interrupt();

  // True while the writer's process lives, in whatever PID namespace.
  bool writer_alive() const;
  // True once the writer has closed the ring (it may not be unlinked yet).
  bool writer_closed() const;
  // True when the writer was alive and still writing when this reader
  // joined: then every record after the join is this reader's to read, even
  // if the writer has closed or died since. False for a ring left behind
  // by a writer that had already stopped (wait for another writer instead).
  // Decided once, at the join: asking writer_alive() / writer_closed() later
  // races with a writer that finishes quickly.
  bool joined_live_writer() const;
  // True when this user may only read the ring (the writer shared it with
  // other users through its mode): then the reader takes no participant
  // entry, holds slots by shared byte-range locks on its read-only
  // descriptor, is always leaky (it cannot hold the writer back), and its
  // counters are its own (`shmring info` does not list it).
  bool read_only() const;
  // True while the frame's slot still holds the frame: for a read-only
  // reader, whose hold the writer overrides after a bound, ask after copying
  // (a seqlock check): false means the copy may be torn; drop it.
  bool intact(const Frame &frame) const;
  // The writer pipeline's latency in ns, kNoTime until its sink knows it.
  std::uint64_t writer_latency() const;
  // The writer's pid as it sees itself (its own PID namespace): display only.
  pid_t writer_pid() const;
  std::uint32_t slot_count() const;
  // How many slots some reader (any process) holds right now. A reader that
  // would keep its frame for long (wrap it for downstream) checks this after
  // taking its hold: of several readers deciding at once, the last to hold
  // sees all the others' holds, so together they never exceed the limit
  // they check against.
  std::uint32_t slots_held() const;
  // True when this is the only reader with an entry in the ring (no other
  // read-write reader, live or dead and not yet reclaimed): every holder
  // bit is then its own. False for a read-only reader.
  bool sole_reader() const;
  std::uint64_t slot_size() const;
  ReaderCounters counters() const;

  struct Impl;

 private:
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring
