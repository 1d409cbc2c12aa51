// The seed library's own chart: core ring bandwidth between two processes,
// one writer and one reader, for a node size and a number of nodes. Payload
// bytes are counted once (a record written and read is its size, not twice).
// The writer copies a warm buffer into each slot; the reader (a forked
// process) reads every record's first and last byte and releases it.
//
// With SPIN_US, the reader and the writer busy-poll that long before they
// sleep (spin_time): while records flow, neither makes a system call. With
// "threads" the reader is a thread of the writer's process instead: the
// same ring between two threads, the anchor of the two-process figure.
//
//   ring-bandwidth NODE_BYTES NODES SECONDS [SPIN_US [READER_CPU [threads]]]
// prints: node_bytes nodes records seconds bytes_per_second
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "peer.hpp"
#include "pin.hpp"
#include "shmring/error.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"

namespace {

// The core leaves record kinds to the application: this benchmark's end mark.
constexpr std::uint32_t kEosRecord = 2;
using Clock = std::chrono::steady_clock;
Clock::time_point in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

// Reads every record until the end mark; 0 once it came.
int read_until_the_end(const std::string &name, std::chrono::microseconds spin) {
  shmring::ReaderOptions reader_options;
  reader_options.name = name;
  reader_options.spin_time = spin;
  auto reader = shmring::Reader::open(reader_options);
  unsigned sum = 0;
  for (;;) {
    shmring::Frame frame;
    if (reader->next(frame, in(10000)) != shmring::ReadStatus::Frame)
      return 1;
    if (frame.record.kind == kEosRecord)
      return sum == 12345 ? 3 : 0;  // keeps the reads
    sum += static_cast<unsigned>(frame.data[0]) +
           static_cast<unsigned>(frame.data[frame.record.size - 1]);
    reader->release(frame.slot);
  }
}
}  // namespace

int main(int argc, char **argv) {
  PeerIn where = PeerIn::Process;
  if (argc < 4 || argc > 7 || (argc == 7 && !peer_mode_named(argv[6], where))) {
    std::fprintf(stderr, "usage: %s NODE_BYTES NODES SECONDS [SPIN_US [READER_CPU [threads]]]\n",
                 argv[0]);
    return 2;
  }
  const auto spin = std::chrono::microseconds(argc >= 5 ? std::atoi(argv[4]) : 0);
  // The writer runs on CPU 0; the reader on CPU 1, or with READER_CPU 0 on
  // the writer's (a one-CPU container, or a pair the scheduler packed).
  const int reader_cpu = argc >= 6 ? std::atoi(argv[5]) : 1;
  const std::uint64_t node = std::strtoull(argv[1], nullptr, 10);
  const std::uint32_t nodes = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
  const double seconds = std::atof(argv[3]);
  const std::string name = "bench-bw-" + std::to_string(getpid());
  shmring::WriterOptions options;
  options.name = name;
  options.slot_count = nodes;
  options.slot_size = node;
  options.spin_time = spin;
  auto writer = shmring::Writer::create(options);

  Peer reader(where, reader_cpu, [&] { return read_until_the_end(name, spin); });
  pin_to_cpu(0);
  if (writer->wait_for_reader(in(10000)) != shmring::WaitStatus::Ok)
    return 1;
  std::vector<char> payload(node, 7);
  shmring::RecordHeader info;
  info.size = node;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::uint64_t records = 0;
  while (Clock::now() < end) {
    // One deadline per batch: reading the clock costs as much as a record.
    const auto deadline = in(10000);
    for (int i = 0; i < 64; ++i) {
      if (writer->write(info, payload.data(), deadline) != shmring::WaitStatus::Ok)
        return 1;
    }
    records += 64;
  }
  shmring::RecordHeader eos;
  eos.kind = kEosRecord;
  writer->write(eos, nullptr, in(10000));
  const int status = reader.join();  // the reader has read everything
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (status != 0)
    return 1;
  std::printf("%llu %u %llu %.6f %.0f\n", static_cast<unsigned long long>(node), nodes,
              static_cast<unsigned long long>(records), elapsed,
              double(records) * double(node) / elapsed);
  return 0;
}
