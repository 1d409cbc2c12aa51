#include "rw_lock.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <string>

#include "shmring/error.hpp"

namespace shmring {

namespace {

// How often a blocked waiter looks for dead holders: the longest a dead
// holder can keep the lock.
constexpr auto kLivenessSlice = std::chrono::milliseconds(50);

// Holds the guard for one short update. A guard whose owner died mid-update
// is made consistent: every update below is a few independent stores, and a
// torn holder entry names a dead process, which the next sweep drops.
class GuardScope {
 public:
  explicit GuardScope(SharedRwLock &lock) : mutex_(lock.guard) {
    int rc = pthread_mutex_lock(&mutex_);
    if (rc == EOWNERDEAD)
      rc = pthread_mutex_consistent(&mutex_);
    if (rc != 0)
      throw Error(ErrorCode::Corrupt,
                  std::string("the shared lock's guard is unusable: ") + std::strerror(rc));
  }
  ~GuardScope() { pthread_mutex_unlock(&mutex_); }
  GuardScope(const GuardScope &) = delete;
  GuardScope &operator=(const GuardScope &) = delete;

 private:
  pthread_mutex_t &mutex_;
};

bool is(const LockHolder &holder, const ProcessIdentity &who) {
  return holder.pid.load(std::memory_order_relaxed) == who.pid &&
         holder.start_time.load(std::memory_order_relaxed) == who.start_time;
}

void set(LockHolder &holder, const ProcessIdentity &who) {
  holder.start_time.store(who.start_time, std::memory_order_relaxed);
  holder.pid.store(who.pid, std::memory_order_relaxed);
}

void clear(LockHolder &holder) {
  holder.pid.store(0, std::memory_order_relaxed);
  holder.start_time.store(0, std::memory_order_relaxed);
}

bool taken(const LockHolder &holder) {
  return holder.pid.load(std::memory_order_relaxed) != 0;
}

// Drops a holder whose process is gone. Returns true if it did.
bool drop_if_dead(LockHolder &holder) {
  const std::int32_t pid = holder.pid.load(std::memory_order_relaxed);
  if (pid == 0 || process_alive(pid, holder.start_time.load(std::memory_order_relaxed)))
    return false;
  clear(holder);
  return true;
}

// Under the guard: drops every dead holder. Returns true if any was dropped.
bool sweep_dead(SharedRwLock &lock) {
  bool dropped = drop_if_dead(lock.writer);
  dropped |= drop_if_dead(lock.pending_writer);
  for (LockHolder &reader : lock.readers)
    dropped |= drop_if_dead(reader);
  return dropped;
}

void notify(SharedRwLock &lock) { WakeChannel(lock.wake_word, lock.waiters).notify(); }

// Runs `try_take` under the guard until it succeeds or the deadline passes,
// sleeping between tries and sweeping dead holders once per slice.
template <typename TryTake, typename GiveUp>
bool acquire(SharedRwLock &lock, Deadline deadline, TryTake try_take, GiveUp give_up) {
  WakeChannel channel(lock.wake_word, lock.waiters);
  Deadline next_sweep = Clock::now();
  for (;;) {
    const std::uint32_t seen = lock.wake_word.load(std::memory_order_seq_cst);
    {
      GuardScope guard(lock);
      const Deadline now = Clock::now();
      if (now >= next_sweep) {
        if (sweep_dead(lock))
          notify(lock);
        next_sweep = now + kLivenessSlice;
      }
      if (try_take())
        return true;
      if (now >= deadline) {
        give_up();
        return false;
      }
    }
    const Deadline wake_at = std::min(deadline, next_sweep);
    channel.wait([&] { return lock.wake_word.load(std::memory_order_seq_cst) != seen; },
                 wake_at);
  }
}

}  // namespace

void rw_lock_init(SharedRwLock &lock) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  const int rc = pthread_mutex_init(&lock.guard, &attributes);
  pthread_mutexattr_destroy(&attributes);
  if (rc != 0)
    throw_system_error("cannot initialise a shared lock", rc);
}

bool rw_lock_shared(SharedRwLock &lock, const ProcessIdentity &self, Deadline deadline) {
  return acquire(
      lock, deadline,
      [&] {
        if (taken(lock.writer))
          return false;
        // A waiting writer goes first, unless it is this very process (a
        // thread of it waits to write while another reads: let it read).
        if (taken(lock.pending_writer) && !is(lock.pending_writer, self))
          return false;
        for (LockHolder &reader : lock.readers) {
          if (!taken(reader)) {
            set(reader, self);
            return true;
          }
        }
        return false;  // every read entry in use: wait for one to be released
      },
      [] {});
}

void rw_unlock_shared(SharedRwLock &lock, const ProcessIdentity &self) {
  {
    GuardScope guard(lock);
    for (LockHolder &reader : lock.readers) {
      if (is(reader, self)) {
        clear(reader);
        break;
      }
    }
  }
  notify(lock);
}

bool rw_lock_exclusive(SharedRwLock &lock, const ProcessIdentity &self, Deadline deadline) {
  return acquire(
      lock, deadline,
      [&] {
        bool free = !taken(lock.writer);
        for (const LockHolder &reader : lock.readers)
          free = free && !taken(reader);
        if (free) {
          set(lock.writer, self);
          if (is(lock.pending_writer, self))
            clear(lock.pending_writer);
          return true;
        }
        if (!taken(lock.pending_writer))
          set(lock.pending_writer, self);
        return false;
      },
      [&] {
        if (is(lock.pending_writer, self)) {
          clear(lock.pending_writer);
          notify(lock);  // readers held back by us may go now
        }
      });
}

void rw_unlock_exclusive(SharedRwLock &lock, const ProcessIdentity &self) {
  {
    GuardScope guard(lock);
    if (is(lock.writer, self))
      clear(lock.writer);
  }
  notify(lock);
}

RwLockState rw_lock_state(const SharedRwLock &lock) {
  RwLockState state;
  state.writer_pid = lock.writer.pid.load(std::memory_order_relaxed);
  for (const LockHolder &reader : lock.readers)
    state.readers += taken(reader) ? 1 : 0;
  return state;
}

}  // namespace shmring
