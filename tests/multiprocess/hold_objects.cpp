// Holds shared-memory objects for tests with real processes.
//
//   hold-objects BUFFER ARRAY QUEUE
//       Creates a shared buffer, a shared array and a queue under the given
//       names, writes a little into each, prints "ready" and then holds them
//       until killed: the CLI tests need objects owned by a live process,
//       then by a dead one.
//
//   hold-objects --hold-lock BUFFER
//   hold-objects --hold-lease QUEUE
//       Opens an existing buffer and takes its write lock, or an existing
//       queue and claims a node to write (never committed); prints "ready"
//       and holds it until killed. The container tests run these in another
//       PID namespace and kill them there.
//
//   hold-objects --recover-lock BUFFER
//   hold-objects --recover-lease QUEUE
//       The other side: creates the buffer (or the queue, with the items
//       "one" and "two" in four nodes) and prints "ready". At the first line
//       on stdin it checks that a holder started meanwhile keeps what it
//       holds, and prints "while held: blocked" (or what it got instead). At
//       the second line (sent once the holder is dead) it waits up to 5 s for
//       the lock or the next item and prints "after kill: locked in N ms" /
//       "after kill: got ITEM in N ms, abandoned K" or "after kill: timed out".
//       Exits 0, removing what it created.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "shmring/circular_buffer.hpp"
#include "shmring/shared_array.hpp"
#include "shmring/shared_buffer.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWhileHeld = std::chrono::milliseconds(500);
constexpr auto kAfterKill = std::chrono::seconds(5);

void say(const std::string &line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

[[noreturn]] void hold_forever() {
  for (;;)
    pause();
}

// Blocks until the test sends a line (or closes stdin).
void await_line() {
  std::string line;
  std::getline(std::cin, line);
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The next item as text, or "" after `timeout`.
std::string take(shmring::CircularBuffer &queue, shmring::Timeout timeout, bool &got) {
  std::string item(queue.node_size(), '\0');
  const auto size = queue.read(item.data(), item.size(), timeout);
  got = size.has_value();
  item.resize(size.value_or(0));
  return item;
}

int recover_lock(const char *name) {
  auto buffer = shmring::SharedBuffer::create(name, 1000);
  say("ready");
  await_line();
  if (buffer.lock_write(kWhileHeld)) {
    buffer.unlock_write();
    say("while held: locked");
  } else {
    say("while held: blocked");
  }
  await_line();
  const auto start = Clock::now();
  if (buffer.lock_write(kAfterKill)) {
    say("after kill: locked in " + std::to_string(ms_since(start)) + " ms");
    buffer.unlock_write();
  } else {
    say("after kill: timed out");
  }
  return 0;
}

int recover_lease(const char *name) {
  auto queue = shmring::CircularBuffer::create(name, 4, 512);
  queue.write("one", 3);
  queue.write("two", 3);
  say("ready");
  await_line();  // the holder has claimed the third node
  bool got = false;
  for (const char *expected : {"one", "two"}) {
    const std::string item = take(queue, kWhileHeld, got);
    if (item != expected) {
      say(std::string("error: expected ") + expected + ", got '" + item + "'");
      return 1;
    }
  }
  queue.write("three", 5);  // behind the held node
  const std::string item = take(queue, kWhileHeld, got);
  say(got ? "while held: got " + item : "while held: blocked");
  await_line();
  const auto start = Clock::now();
  const std::string next = take(queue, kAfterKill, got);
  if (got)
    say("after kill: got " + next + " in " + std::to_string(ms_since(start)) + " ms, abandoned " +
        std::to_string(queue.counters().abandoned));
  else
    say("after kill: timed out");
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 3) {
    const std::string mode = argv[1];
    if (mode == "--hold-lock") {
      auto buffer = shmring::SharedBuffer::open(argv[2]);
      buffer.lock_write();
      say("ready");
      hold_forever();
    }
    if (mode == "--hold-lease") {
      auto queue = shmring::CircularBuffer::open(argv[2]);
      auto lease = queue.acquire_write();
      std::memcpy(lease.data(), "held", 4);
      say("ready");
      hold_forever();
    }
    if (mode == "--recover-lock")
      return recover_lock(argv[2]);
    if (mode == "--recover-lease")
      return recover_lease(argv[2]);
  }
  if (argc != 4) {
    std::fprintf(stderr,
                 "usage: %s BUFFER ARRAY QUEUE\n"
                 "       %s --hold-lock BUFFER | --hold-lease QUEUE\n"
                 "       %s --recover-lock BUFFER | --recover-lease QUEUE\n",
                 argv[0], argv[0], argv[0]);
    return 2;
  }
  auto buffer = shmring::SharedBuffer::create(argv[1], 1000);
  auto array = shmring::SharedArray<double>::create(argv[2], 16);
  auto queue = shmring::CircularBuffer::create(argv[3], 4, 512);
  array.set(3, 2.5);
  queue.write("one", 3);
  queue.write("two", 3);
  say("ready");
  hold_forever();
}
