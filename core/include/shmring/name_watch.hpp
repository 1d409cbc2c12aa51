// Waiting for a name to appear without polling: a source waiting for its
// writer is woken the moment the writer creates the ring (inotify on
// /dev/shm), so that even a stream that ends at once is not missed.
#pragma once

#include <string>

#include "shmring/timeout.hpp"

namespace shmring {

class NameWatch {
 public:
  // Watches /dev/shm for /shmring.NAME. Throws Error(InvalidName). Where
  // inotify cannot be had, wait() falls back to sleeping 20 ms.
  explicit NameWatch(const std::string &name);
  ~NameWatch();
  NameWatch(const NameWatch &) = delete;
  NameWatch &operator=(const NameWatch &) = delete;

  // Returns when the name was created, renamed onto, or changed since the
  // previous call (true), the deadline passed (false), or interrupt() was
  // called (true; check your own flag).
  bool wait(Deadline deadline);
  // Sleeps until the deadline (false) or interrupt() (true), whatever
  // happens to the name: for a ring that is there but not ready, whose
  // every look (our own open and close of it) is an event of its name.
  bool sleep(Deadline deadline);
  // Wakes wait() now and every later call until clear_interrupt(). Any
  // thread.
  void interrupt();
  void clear_interrupt();

 private:
  std::string file_;    // "shmring.NAME", as inotify reports it
  int inotify_ = -1;    // -1: polling
  int interrupt_ = -1;  // eventfd
};

}  // namespace shmring
