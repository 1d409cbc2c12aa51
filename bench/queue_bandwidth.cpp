// The seed's chart, measured as the seed measured it: its class
// (CircularBuffer, queue mode: every item taken by exactly one reader), with
// WRITERS writer processes and READERS reader processes, NODES nodes of
// NODE_BYTES, for SECONDS. The data are drawn in turn from 256 buffers of
// random bytes (so a 1 MiB node's source is not warm in the cache).
//
// MODE copy: the seed's Write and Read, a copy in and a copy out.
// MODE lease: the writer copies in through a write lease; the reader reads
// in place through a read lease (its first and last byte), no copy out.
// "one-cpu" puts every side on CPU 0; "threads" makes them threads of one
// process instead of processes: the same queue between threads, the anchor
// of the figure between processes.
//
//   queue-bandwidth NODE_BYTES NODES SECONDS WRITERS READERS copy|lease [one-cpu|threads]
// prints: node_bytes nodes writers readers items seconds payload_bytes_per_second
// (payload counted once; the seed's chart counts it twice, in and out)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "peer.hpp"
#include "shmring/circular_buffer.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSources = 256;
constexpr auto kPatience = std::chrono::seconds(10);

struct Args {
  std::uint64_t node = 0;
  std::uint32_t nodes = 0;
  double seconds = 0;
  int writers = 0;
  int readers = 0;
  bool lease = false;
  bool one_cpu = false;
  PeerIn where = PeerIn::Process;
};

// Writes items until `seconds` have passed since `go` closed (after this
// writer said it is ready, its data drawn); returns how many, or -1.
long long write_items(const Args &args, const std::string &name, int ready, int go) {
  auto queue = shmring::CircularBuffer::open(name);
  std::vector<std::vector<std::byte>> sources(kSources, std::vector<std::byte>(args.node));
  std::mt19937_64 random(static_cast<std::uint64_t>(getpid()));
  for (auto &source : sources)
    for (auto &byte : source)
      byte = static_cast<std::byte>(random());
  char mark = 1;
  (void)!write(ready, &mark, 1);
  (void)!read(go, &mark, 1);  // returns at EOF: the parent closed it
  const auto end = Clock::now() + std::chrono::duration<double>(args.seconds);
  long long items = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) {
      const std::byte *source = sources[static_cast<std::size_t>(items + i) % kSources].data();
      if (args.lease) {
        auto lease = queue.acquire_write(kPatience);
        if (!lease)
          return -1;
        std::memcpy(lease.data(), source, args.node);
        lease.commit(args.node);
      } else if (!queue.write(source, args.node, kPatience)) {
        return -1;
      }
    }
    items += 64;
  }
  return items;
}

// Takes items until an empty one (the end mark); exit status 0 on success.
int read_items(const Args &args, const std::string &name) {
  auto queue = shmring::CircularBuffer::open(name);
  std::vector<std::byte> destination(args.node);
  unsigned sum = 0;
  for (;;) {
    std::size_t size = 0;
    if (args.lease) {
      auto lease = queue.acquire_read(kPatience);
      if (!lease)
        return 1;
      size = lease.size();
      if (size > 0)
        sum +=
            static_cast<unsigned>(lease.data()[0]) + static_cast<unsigned>(lease.data()[size - 1]);
    } else {
      const auto got = queue.read(destination.data(), destination.size(), kPatience);
      if (!got)
        return 1;
      size = *got;
      if (size > 0)
        sum += static_cast<unsigned>(destination[size - 1]);
    }
    if (size == 0)
      return sum == 0x7fffffff ? 3 : 0;  // keeps the reads
  }
}

bool parse(int argc, char **argv, Args &args) {
  if (argc != 7 && argc != 8)
    return false;
  // "one-cpu": every process on CPU 0 (a one-CPU container, or a pair the
  // scheduler packed onto one CPU). "threads": sides in threads.
  args.one_cpu = argc == 8 && std::string(argv[7]) == "one-cpu";
  if (argc == 8 && !args.one_cpu && !peer_mode_named(argv[7], args.where))
    return false;
  args.node = std::strtoull(argv[1], nullptr, 10);
  args.nodes = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
  args.seconds = std::atof(argv[3]);
  args.writers = std::atoi(argv[4]);
  args.readers = std::atoi(argv[5]);
  args.lease = std::string(argv[6]) == "lease";
  return args.node > 0 && args.nodes >= 2 && args.seconds > 0 && args.writers > 0 &&
         args.readers > 0 && (args.lease || std::string(argv[6]) == "copy");
}

}  // namespace

int main(int argc, char **argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: %s NODE_BYTES NODES SECONDS WRITERS READERS copy|lease "
                 "[one-cpu|threads]\n",
                 argv[0]);
    return 2;
  }
  const std::string name = "bench-queue-" + std::to_string(getpid());
  auto queue = shmring::CircularBuffer::create(name, args.nodes, args.node);
  int counts[2], ready[2], go[2];
  if (pipe(counts) != 0 || pipe(ready) != 0 || pipe(go) != 0)
    return 1;
  // Readers on odd CPUs, writers on even ones. A side in a process lets go
  // of the start pipe's write end, which only main may hold: its close is
  // the start (a thread shares main's, and leaves it).
  std::vector<std::unique_ptr<Peer>> readers, writers;
  for (int r = 0; r < args.readers; ++r)
    readers.push_back(std::make_unique<Peer>(args.where, args.one_cpu ? 0 : 1 + 2 * r, [&] {
      if (args.where == PeerIn::Process)
        close(go[1]);
      return read_items(args, name);
    }));
  for (int w = 0; w < args.writers; ++w)
    writers.push_back(std::make_unique<Peer>(args.where, args.one_cpu ? 0 : 2 * w, [&] {
      if (args.where == PeerIn::Process)
        close(go[1]);
      const long long items = write_items(args, name, ready[1], go[0]);
      (void)!write(counts[1], &items, sizeof items);
      return items < 0 ? 1 : 0;
    }));
  // The clock starts when every writer has drawn its data.
  for (int w = 0; w < args.writers; ++w) {
    char mark;
    if (read(ready[0], &mark, 1) != 1) {
      close(go[1]);  // the sides that are ready end (threads are joined on return)
      return 1;
    }
  }
  const auto start = Clock::now();
  close(go[1]);
  long long items = 0;
  bool ok = true;
  for (auto &writer : writers) {
    ok &= writer->join() == 0;
    long long written = 0;
    ok &= read(counts[0], &written, sizeof written) == sizeof written && written >= 0;
    items += written;
  }
  for (int r = 0; r < args.readers; ++r)
    ok &= queue.write(nullptr, 0, kPatience);  // one end mark per reader
  for (auto &reader : readers)
    ok &= reader->join() == 0;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (!ok) {
    std::fprintf(stderr, "a writer or reader failed\n");
    return 1;
  }
  std::printf("%llu %u %d %d %lld %.6f %.0f\n", static_cast<unsigned long long>(args.node),
              args.nodes, args.writers, args.readers, items, elapsed,
              double(items) * double(args.node) / elapsed);
  return 0;
}
