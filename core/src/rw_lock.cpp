#include "rw_lock.hpp"

#include <algorithm>

namespace shmring {

namespace {

void notify(SharedRwLock &lock) { WakeChannel(lock.wake_word, lock.waiters).notify(); }

bool no_readers(const SharedRwLock &lock) {
  for (const auto &holds : lock.read_holds) {
    if (holds.load(std::memory_order_seq_cst) != 0)
      return false;
  }
  return true;
}

// Retries `try_take` until it succeeds or the deadline passes, sleeping on
// the wake word between tries and sweeping for dead holders once per slice.
// The sleep re-checks `may_take` (no side effects) once counted in as a
// waiter: a holder that let go before we counted ourselves in does not bump
// the word (WakeChannel::notify wakes only counted waiters), and the state
// itself must then keep us awake.
template <typename TryTake, typename MayTake>
bool wait_until_taken(SharedRwLock &lock, Deadline deadline, const std::function<void()> &sweep,
                      TryTake try_take, MayTake may_take) {
  WakeChannel channel(lock.wake_word, lock.waiters);
  Deadline next_sweep = Clock::now() + object::kLivenessSlice;
  for (;;) {
    const std::uint32_t seen = lock.wake_word.load(std::memory_order_seq_cst);
    if (try_take())
      return true;
    const Deadline now = Clock::now();
    if (now >= deadline)
      return false;
    if (now >= next_sweep) {
      sweep();
      next_sweep = now + object::kLivenessSlice;
      continue;
    }
    channel.wait(
        [&] { return lock.wake_word.load(std::memory_order_seq_cst) != seen || may_take(); },
        std::min(deadline, next_sweep));
  }
}

}  // namespace

bool rw_lock_shared(SharedRwLock &lock, std::uint32_t self, Deadline deadline,
                    const std::function<void()> &sweep) {
  auto &mine = lock.read_holds[self];
  return wait_until_taken(
      lock, deadline, sweep,
      [&] {
        if (lock.writer.load(std::memory_order_seq_cst) != 0)
          return false;
        mine.fetch_add(1, std::memory_order_seq_cst);
        if (lock.writer.load(std::memory_order_seq_cst) == 0)
          return true;
        // A writer came in between: it goes first.
        mine.fetch_sub(1, std::memory_order_seq_cst);
        notify(lock);
        return false;
      },
      [&] { return lock.writer.load(std::memory_order_seq_cst) == 0; });
}

void rw_unlock_shared(SharedRwLock &lock, std::uint32_t self) {
  auto &mine = lock.read_holds[self];
  std::uint32_t holds = mine.load(std::memory_order_relaxed);
  // Never below zero, even if a reaper that thought us dead cleared it.
  while (holds > 0 && !mine.compare_exchange_weak(holds, holds - 1, std::memory_order_seq_cst)) {
  }
  notify(lock);
}

bool rw_lock_exclusive(SharedRwLock &lock, std::uint32_t self, Deadline deadline,
                       const std::function<void()> &sweep) {
  const std::uint32_t me = self + 1;
  bool claimed = false;
  const bool taken = wait_until_taken(
      lock, deadline, sweep,
      [&] {
        if (!claimed) {
          std::uint32_t none = 0;
          claimed = lock.writer.compare_exchange_strong(none, me, std::memory_order_seq_cst);
          if (!claimed)
            return false;
        } else if (lock.writer.load(std::memory_order_seq_cst) != me) {
          claimed = false;  // a reaper took it from us (we were thought dead)
          return false;
        }
        return no_readers(lock);
      },
      [&] {
        const std::uint32_t writer = lock.writer.load(std::memory_order_seq_cst);
        return claimed ? writer != me || no_readers(lock) : writer == 0;
      });
  if (!taken && claimed) {
    std::uint32_t expected = me;
    lock.writer.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
    notify(lock);  // readers held back by us may go now
  }
  return taken;
}

void rw_unlock_exclusive(SharedRwLock &lock, std::uint32_t self) {
  std::uint32_t expected = self + 1;
  lock.writer.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
  notify(lock);
}

void rw_lock_drop_holder(SharedRwLock &lock, std::uint32_t participant) {
  lock.read_holds[participant].store(0, std::memory_order_seq_cst);
  std::uint32_t expected = participant + 1;
  lock.writer.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
  notify(lock);
}

RwLockState rw_lock_state(const SharedRwLock &lock) {
  RwLockState state;
  state.writer = lock.writer.load(std::memory_order_relaxed);
  state.written = state.writer != 0;
  for (const auto &holds : lock.read_holds)
    state.readers += holds.load(std::memory_order_relaxed) != 0 ? 1 : 0;
  return state;
}

}  // namespace shmring
