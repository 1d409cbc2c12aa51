#include "shmring/name_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

#include "shmring/error.hpp"
#include "shmring/object_name.hpp"

namespace shmring {

namespace {

constexpr auto kPollFallback = std::chrono::milliseconds(20);

int milliseconds_until(Deadline deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX));
}

}  // namespace

NameWatch::NameWatch(const std::string &name) : file_(shm_path_for(name).substr(1)) {
  interrupt_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_ >= 0 &&
      inotify_add_watch(inotify_, "/dev/shm",
                        IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE) < 0) {
    close(inotify_);
    inotify_ = -1;
  }
}

NameWatch::~NameWatch() {
  if (inotify_ >= 0)
    close(inotify_);
  if (interrupt_ >= 0)
    close(interrupt_);
}

bool NameWatch::wait(Deadline deadline) {
  if (inotify_ < 0) {
    // No inotify: sleep a little at a time, still interruptible.
    pollfd fd{interrupt_, POLLIN, 0};
    const int timeout =
        std::min<int>(milliseconds_until(deadline), static_cast<int>(kPollFallback.count()));
    const int ready = poll(&fd, interrupt_ >= 0 ? 1 : 0, timeout);
    return ready > 0 || Clock::now() < deadline;
  }
  for (;;) {
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {interrupt_, POLLIN, 0}};
    const int ready = poll(fds, interrupt_ >= 0 ? 2 : 1, milliseconds_until(deadline));
    if (ready < 0 && errno != EINTR)
      return true;  // let the caller look again
    if (ready <= 0) {
      if (Clock::now() >= deadline)
        return false;
      continue;
    }
    if (fds[1].revents & POLLIN)
      return true;
    // Drain every event; report ours.
    bool ours = false;
    alignas(inotify_event) char buffer[4096];
    for (;;) {
      const ssize_t length = read(inotify_, buffer, sizeof buffer);
      if (length <= 0)
        break;
      for (ssize_t at = 0; at < length;) {
        const auto *event = reinterpret_cast<const inotify_event *>(buffer + at);
        if (event->len > 0 && file_ == event->name)
          ours = true;
        if (event->mask & IN_Q_OVERFLOW)
          ours = true;  // events were lost: ours may be among them
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    if (ours)
      return true;
  }
}

bool NameWatch::sleep(Deadline deadline) {
  for (;;) {
    pollfd fd{interrupt_, POLLIN, 0};
    const int ready = poll(&fd, interrupt_ >= 0 ? 1 : 0, milliseconds_until(deadline));
    if (ready > 0)
      return true;
    if (Clock::now() >= deadline)
      return false;
  }
}

void NameWatch::interrupt() {
  if (interrupt_ >= 0) {
    const std::uint64_t one = 1;
    (void)!write(interrupt_, &one, sizeof one);
  }
}

void NameWatch::clear_interrupt() {
  if (interrupt_ >= 0) {
    std::uint64_t count;
    (void)!read(interrupt_, &count, sizeof count);
  }
}

}  // namespace shmring
