// A read/write lock that lives in shared memory and that no dead process can
// wedge. Its state is who holds it (pid + start time, pid-reuse safe), not a
// count, so a waiter that finds a holder dead simply drops that holder.
//
// The state is changed under a small guard: a process-shared robust mutex,
// which the kernel releases (EOWNERDEAD) when its owner dies. The guard is
// held for a few stores only, never across a wait; waiting is a futex on a
// word bumped at every release, with the waiter re-checking liveness of the
// holders every slice. Writers are preferred: a waiting writer keeps new
// readers out, so a stream of readers cannot starve it.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "futex.hpp"
#include "process_identity.hpp"

namespace shmring {

constexpr std::uint32_t kMaxLockReaders = 64;  // read holders at once, any process

struct LockHolder {
  std::atomic<std::int32_t> pid;  // 0: free
  std::atomic<std::uint64_t> start_time;
};

struct alignas(64) SharedRwLock {
  pthread_mutex_t guard;
  std::atomic<std::uint32_t> wake_word;
  std::atomic<std::uint32_t> waiters;
  LockHolder writer;
  LockHolder pending_writer;  // a writer that waits: new readers stay out
  LockHolder readers[kMaxLockReaders];
};

// Called once by the creator on zeroed memory, before the region is ready.
void rw_lock_init(SharedRwLock &lock);

// Each returns false when the deadline passed first. `self` is the caller's
// identity; a process may hold several read locks (from several threads).
bool rw_lock_shared(SharedRwLock &lock, const ProcessIdentity &self, Deadline deadline);
void rw_unlock_shared(SharedRwLock &lock, const ProcessIdentity &self);
bool rw_lock_exclusive(SharedRwLock &lock, const ProcessIdentity &self, Deadline deadline);
void rw_unlock_exclusive(SharedRwLock &lock, const ProcessIdentity &self);

// What the lock looks like right now, for tooling (no guard taken).
struct RwLockState {
  std::int32_t writer_pid = 0;
  std::uint32_t readers = 0;
};
RwLockState rw_lock_state(const SharedRwLock &lock);

}  // namespace shmring
