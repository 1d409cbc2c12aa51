// A read/write lock that lives in shared memory and that no dead process can
// wedge. Its state says which participant (an entry of the object's
// participant table, named_object.hpp) holds it, not a bare count, so when
// the reaper finds a participant dead it drops exactly that participant's
// holds (rw_lock_drop_holder), in whatever PID namespace it lived.
//
// Lock-free: a writer claims the `writer` word with a CAS and then waits for
// every read count to drain; a reader bumps its own count and backs off if a
// writer appeared meanwhile (both sides seq_cst: at least one of them sees
// the other). A writer that has claimed the word keeps new readers out, so
// a stream of readers cannot starve it. Waiting is a futex on a word bumped
// at every release, with a liveness sweep every slice.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "futex.hpp"
#include "named_object.hpp"

namespace shmring {

struct alignas(64) SharedRwLock {
  std::atomic<std::uint32_t> writer;  // 0: none, else participant index + 1
  std::atomic<std::uint32_t> wake_word;
  std::atomic<std::uint32_t> waiters;
  std::uint32_t reserved;
  // Read holds of each participant (its threads may hold several at once).
  std::atomic<std::uint32_t> read_holds[object::kMaxParticipants];
};
static_assert(sizeof(SharedRwLock) == 320, "part of the buffer's shared layout");

// Each returns false when the deadline passed first. `self` is the caller's
// participant index; `sweep` reaps dead participants (and so calls
// rw_lock_drop_holder for them); it runs once per liveness slice of waiting.
bool rw_lock_shared(SharedRwLock &lock, std::uint32_t self, Deadline deadline,
                    const std::function<void()> &sweep);
void rw_unlock_shared(SharedRwLock &lock, std::uint32_t self);
bool rw_lock_exclusive(SharedRwLock &lock, std::uint32_t self, Deadline deadline,
                       const std::function<void()> &sweep);
void rw_unlock_exclusive(SharedRwLock &lock, std::uint32_t self);

// Drops every hold of a participant found dead (the reaper's on_dead).
void rw_lock_drop_holder(SharedRwLock &lock, std::uint32_t participant);

// What the lock looks like right now, for tooling.
struct RwLockState {
  bool written = false;       // a writer holds it or waits for readers to leave
  std::uint32_t writer = 0;   // its participant index + 1
  std::uint32_t readers = 0;  // participants holding it for reading
};
RwLockState rw_lock_state(const SharedRwLock &lock);

}  // namespace shmring
