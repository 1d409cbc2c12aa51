// Sleeping on a 32-bit word of the shared mapping. Shared (no
// FUTEX_PRIVATE_FLAG) because waker and sleeper are different processes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "shmring/timeout.hpp"

namespace shmring {

// A hint to the core that we are spinning (lets the sibling hyperthread run).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a wait polls before it sleeps, whatever the spin budget
// (spin_time) says: a record or slot a few microseconds away then costs
// neither side a system call. Without it a writer and a reader of about the
// same speed fell into sleeping and waking each other for every record
// (a futex wake and a wake-up per record: 5x slower small buffers, in runs
// that started alike). Its cost is bounded: 10 us per wait that sleeps
// after all, 0.03% of a core at 30 waits/s.
constexpr std::chrono::microseconds kPollBeforeSleep{10};

// Sleeps while *word == expected, until woken or the deadline passes.
// Returns false only when the deadline has passed.
bool futex_wait_until(std::atomic<std::uint32_t> &word, std::uint32_t expected, Deadline deadline);

// Wakes every sleeper on the word, in any process.
void futex_wake_all(std::atomic<std::uint32_t> &word);

// The wait/wake pair of one condition ("data published", "slot freed"), with a
// waiter count so that the waker neither writes the shared word nor makes a
// system call while nobody sleeps (an eventcount).
// The waiter reads the word, counts itself in, re-checks its condition, and
// sleeps only while the word is unchanged; the waker changes the condition,
// then looks at the count. A full fence on each side between its write and
// its read (Dekker): either the waker sees the waiter counted, and bumps the
// word it sleeps on, or the waiter sees the changed condition.
class WakeChannel {
 public:
  WakeChannel(std::atomic<std::uint32_t> &word, std::atomic<std::uint32_t> &waiters)
      : word_(word), waiters_(waiters) {}

  // Call after changing the condition. Nobody asleep: a fence and a load of
  // a line that stays shared, where a bump of the word on every record was a
  // cache line passed between the two processes (the queue's data and space
  // words share one).
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_relaxed) != 0)
      notify_forced();
  }

  // notify() for a waker whose change of the condition was itself a
  // seq_cst read-modify-write or store, made just before. That operation
  // and this seq_cst load of the count are then the waker's half of the
  // pair without a fence between them: a waiter whose count the load
  // misses counted itself in later in the single order of seq_cst
  // operations, so its fence follows the change, and its re-check after
  // that fence sees the change ([atomics.order]: a load after a seq_cst
  // fence sees the last seq_cst modification before the fence, or a later
  // one). On x86 the change is a locked instruction, a full barrier
  // already, and notify()'s fence a second one (GCC: a locked OR to the
  // stack) for every item.
  void notify_after_seq_cst_change() {
    if (waiters_.load(std::memory_order_seq_cst) != 0)
      notify_forced();
  }

  // Wakes sleepers even when the waiter count says nobody sleeps: used by
  // interrupt, which must not depend on a count another process may have
  // left wrong.
  void notify_forced() {
    word_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(word_);
  }

  // For a waiter without write access (it cannot count itself in
  // `waiters`): sleeps while the word is `seen`, until the deadline. Its
  // waker must use notify_forced().
  bool wait_uncounted(std::uint32_t seen, Deadline deadline) {
    return futex_wait_until(word_, seen, deadline);
  }
  std::uint32_t current() const { return word_.load(std::memory_order_seq_cst); }
  // Wakes sleepers without changing the word (no write access needed); a
  // sleeper that has not gone to sleep yet misses it and wakes at its
  // deadline instead.
  void wake_only() { futex_wake_all(word_); }

  // Sleeps until `ready()` holds, the deadline passes or the word changes.
  // Returns false on deadline. Callers loop and re-check their condition.
  template <typename Ready>
  bool wait(Ready ready, Deadline deadline) {
    std::uint32_t seen = word_.load(std::memory_order_seq_cst);
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    // The waiter's half of the Dekker pair: `ready` may load with acquire
    // only, which must not be seen before the count is.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool in_time = true;
    if (!ready())
      in_time = futex_wait_until(word_, seen, deadline);
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return in_time;
  }

 private:
  std::atomic<std::uint32_t> &word_;
  std::atomic<std::uint32_t> &waiters_;
};

}  // namespace shmring
