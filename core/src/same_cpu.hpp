// Whether the peer a wait polls for runs on this thread's CPU, and what a
// poll then does instead of spinning.
//
// The scheduler sometimes puts a writer and its reader on one CPU and keeps
// them there: each wakes the other onto the CPU it runs on, and on this
// 2-core machine no load balancing moved them apart for the whole of a
// 40 ms run while the other CPU idled. Two such peers can only take turns.
// Spinning for the other (the poll before a sleep, or a spin-time budget)
// then only delays it, and a sleep costs a futex wake and two context
// switches per turn: 20,000 small buffers crossed at 8 us each instead of
// 1 us. Yielding hands the CPU straight to the peer, which then fills or
// drains the whole ring in one turn, with no system call but the yield.
#pragma once

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "futex.hpp"
#include "shmring/timeout.hpp"

namespace shmring {

// The CPU this thread runs on as the peers see it: sched_getcpu() + 1, so
// that 0 (what an older build leaves in the field) means unknown. glibc
// reads it from the thread's rseq area: no system call.
inline std::uint32_t current_cpu_tag() {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<std::uint32_t>(cpu) + 1;
}

// Keeps `shown` (a shared word the peer reads) at this thread's CPU. Called
// where the caller writes that cache line anyway: a store only when the CPU
// changed, so the line moves no more often than before.
inline void show_cpu(std::atomic<std::uint32_t> &shown) {
  const std::uint32_t cpu = current_cpu_tag();
  if (shown.load(std::memory_order_relaxed) != cpu)
    shown.store(cpu, std::memory_order_relaxed);
}

inline bool on_this_cpu(std::uint32_t peer_cpu_tag) {
  return peer_cpu_tag != 0 && peer_cpu_tag == current_cpu_tag();
}

// Spins a poll makes before it looks where its peer runs: most waits
// between peers on two CPUs end within them.
constexpr int kSpinsBeforeLook = 64;

// At most this many yields to a peer on our CPU in one wait before it
// sleeps after all: a peer that is runnable but busy with something else
// (upstream work) would otherwise keep the waiter polling.
constexpr int kYieldsBeforeSleep = 64;

// A yield that took longer than this was no quick turn of the peer's:
// the peer had more to do than a ring of records (a frame to make, page
// faults), or a third task took the CPU.
constexpr std::chrono::microseconds kLongYield{200};

// After such a yield the waits sleep instead, for a pause that doubles with
// each long yield after it, from the shortest to the longest; it starts
// from the shortest again only after a run of quick yields (beside a busy
// task, a yield is quick whenever the scheduler happens to pick the peer
// next: resetting on each one left the busy case at 0.38-0.46 s against
// 0.29 s sleeping; this way it takes 0.20-0.25 s).
constexpr std::chrono::milliseconds kShortestYieldPause{1};
constexpr std::chrono::milliseconds kLongestYieldPause{100};
constexpr unsigned kQuickYieldsToReset = 64;

// Every this many turns a wait sleeps rather than yields. The scheduler
// places a task where it is woken: a wake-up is its chance to move one of
// a pair it packed onto one CPU to an idle one, which a yield never gives
// it. Yielding always kept such a pair packed for 37 ms of 100,000 small
// buffers where sleeping parted it within 20 (at 2.4 and 8 us a buffer).
constexpr unsigned kTurnsBetweenSleeps = 64;

// A yield that returned sooner than this switched to nobody (an empty one
// takes 0.5 us here, a turn of the peer's two context switches and more):
// the peer is not runnable, asleep on its clock or downstream, or a
// real-time waiter's lower-priority peer, which a yield never runs. Sixty
// more yields per buffer (185,000 a second, three times the reader's CPU
// for 1,000 buffers a second) were the cost of taking that for a turn.
constexpr std::chrono::nanoseconds kEmptyYield{1500};

// Yielding to a peer on our CPU pays while its turns are quick and it is
// the only other task there. With a third one busy on the CPU (a CPU hog,
// an encoder), each yield hands that task a whole time slice: 20,000
// records through a one-CPU pair beside a busy loop took 3.6 s yielding and
// 0.3 s sleeping (a woken sleeper runs before a task that used up its
// slice). A peer with long turns is woken as cheaply as it is yielded to.
// So a long yield stops the yields for a while; a busy CPU then costs one
// slice per 100 ms at most.
// Whenever a wait whose peer shares its CPU does not yield, it sleeps at
// once: spinning there (the poll before a sleep, or a spin-time budget)
// only keeps the peer from the CPU. With spin-time on both sides of a
// one-CPU pair, spinning out the budget instead made 20,000 buffers take 6
// to 20 s where taking turns takes 0.35 s.
// One per reader or writer, shared by the threads that wait on it: its
// state is atomic; the count of yields is each wait's own.
class TurnTaking {
 public:
  struct Step {
    bool sleep_now = false;  // the peer shares our CPU and takes no turn now
    bool yielded = false;    // the peer took a turn
  };

  // One step of a poll: a spin hint when the peer runs elsewhere; when it
  // shares our CPU, a yield to it, or, where a yield does not pay (this
  // wait's yields are spent, yields are paused, this turn is one that
  // sleeps, or the peer turned out not to be runnable), the word to sleep.
  // While the peer shares our CPU a poll is these steps alone, whatever its
  // time budget (which is for spinning): they end in a sleep by their own
  // limits.
  Step step(bool peer_here, int &yields) {
    if (!peer_here) {
      cpu_relax();
      return {};
    }
    if (yields >= kYieldsBeforeSleep)
      return {true, {}};
    const Deadline before = Clock::now();
    if (before.time_since_epoch().count() < paused_until_.load(std::memory_order_relaxed))
      return {true, {}};
    if (turns_.fetch_add(1, std::memory_order_relaxed) % kTurnsBetweenSleeps ==
        kTurnsBetweenSleeps - 1)
      return {true, {}};
    ++yields;
    sched_yield();
    const Clock::duration took = Clock::now() - before;
    if (took < kEmptyYield)
      return {true, {}};
    if (took <= kLongYield) {
      if (quick_in_a_row_.fetch_add(1, std::memory_order_relaxed) + 1 >= kQuickYieldsToReset)
        pause_.store(0, std::memory_order_relaxed);
      return {false, true};
    }
    quick_in_a_row_.store(0, std::memory_order_relaxed);
    const Clock::duration pause =
        std::clamp<Clock::duration>(Clock::duration(pause_.load(std::memory_order_relaxed)) * 2,
                                    kShortestYieldPause, kLongestYieldPause);
    pause_.store(pause.count(), std::memory_order_relaxed);
    paused_until_.store((before + took + pause).time_since_epoch().count(),
                        std::memory_order_relaxed);
    return {false, true};
  }

  // Whether the latest wait found its peer on our CPU: the next wait then
  // looks where the peer runs before it spins (the look reads a line the
  // peer writes often, so it is otherwise left until a spin has failed).
  bool peer_was_here() const { return peer_was_here_.load(std::memory_order_relaxed); }
  void set_peer_was_here(bool here) {
    if (peer_was_here_.load(std::memory_order_relaxed) != here)
      peer_was_here_.store(here, std::memory_order_relaxed);
  }

 private:
  std::atomic<Clock::rep> paused_until_{0};
  std::atomic<Clock::rep> pause_{0};  // the latest pause; 0 after a run of quick yields
  std::atomic<unsigned> turns_{0};
  std::atomic<unsigned> quick_in_a_row_{0};
  std::atomic<bool> peer_was_here_{false};
};

}  // namespace shmring
