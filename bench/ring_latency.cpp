// One-way latency of the core ring itself: a writer process publishes one
// small record at a time into an otherwise idle ring, stamped with
// CLOCK_MONOTONIC; a reader process asleep in next() (futex) is woken and
// reads the stamp. With SPIN_US, the reader busy-polls that long before it
// sleeps (ReaderOptions::spin_time): no futex wake-up. Prints samples=N
// median_us=M p99_us=P max_us=X reader_cpu=F write_us=W: reader_cpu is the
// share of one core the reader used while it ran, write_us the median time
// the writer's own write() call took (stamp to return), the part of the
// latency spent before the record is visible. With "threads" the reader is
// a thread of the writer's process: the same ring between two threads, the
// anchor of the two-process figure.
//
//   ring-latency COUNT INTERVAL_US [SPIN_US [threads]]
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "peer.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"

namespace {

// The core leaves record kinds to the application: this benchmark's end mark.
constexpr std::uint32_t kEosRecord = 2;
using Clock = std::chrono::steady_clock;
Clock::time_point in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }
std::uint64_t monotonic_ns() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::uint64_t(now.tv_sec) * 1000000000u + std::uint64_t(now.tv_nsec);
}

// Reads stamped records until the end mark and writes its line of figures
// to `out`; 0 when it did.
int read_stamps(const std::string &name, int spin_us, int out) {
  shmring::ReaderOptions options;
  options.name = name;
  options.spin_time = std::chrono::microseconds(spin_us);
  auto reader = shmring::Reader::open(options);
  const auto started = Clock::now();
  std::vector<double> latencies_us;
  for (;;) {
    shmring::Frame frame;
    if (reader->next(frame, in(10000)) != shmring::ReadStatus::Frame)
      return 1;
    const std::uint64_t now = monotonic_ns();
    if (frame.record.kind == kEosRecord)
      break;
    std::uint64_t stamp;
    std::memcpy(&stamp, frame.data, sizeof(stamp));
    latencies_us.push_back(double(now - stamp) / 1000.0);
    reader->release(frame.slot);
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto at = [&](double q) {
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<std::size_t>(q * latencies_us.size()))];
  };
  struct rusage usage;
  getrusage(RUSAGE_THREAD, &usage);  // this process's only one, or ours
  const double cpu = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  char line[200];
  const int length = std::snprintf(
      line, sizeof(line), "samples=%zu median_us=%.2f p99_us=%.2f max_us=%.1f reader_cpu=%.2f\n",
      latencies_us.size(), at(0.5), at(0.99), latencies_us.back(), cpu / wall);
  return write(out, line, static_cast<std::size_t>(length)) == length ? 0 : 1;
}
}  // namespace

int main(int argc, char **argv) {
  PeerIn where = PeerIn::Process;
  if (argc < 3 || argc > 5 || (argc == 5 && !peer_mode_named(argv[4], where))) {
    std::fprintf(stderr, "usage: %s COUNT INTERVAL_US [SPIN_US [threads]]\n", argv[0]);
    return 2;
  }
  const int count = std::atoi(argv[1]);
  const int interval_us = std::atoi(argv[2]);
  const int spin_us = argc >= 4 ? std::atoi(argv[3]) : 0;
  const std::string name = "bench-latency-" + std::to_string(getpid());
  auto writer = shmring::Writer::create({name, 8, 64});
  int results[2];
  if (pipe(results) != 0)
    return 1;
  Peer reader(where, -1, [&] { return read_stamps(name, spin_us, results[1]); });
  if (reader.in_process())
    close(results[1]);  // the reader's own copy is its only one
  if (writer->wait_for_reader(in(10000)) != shmring::WaitStatus::Ok)
    return 1;
  shmring::RecordHeader info;
  info.size = sizeof(std::uint64_t);
  std::vector<double> writes_us;
  writes_us.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    usleep(static_cast<useconds_t>(interval_us));  // the reader is asleep again
    const std::uint64_t stamp = monotonic_ns();
    if (writer->write(info, &stamp, in(10000)) != shmring::WaitStatus::Ok)
      return 1;
    writes_us.push_back(double(monotonic_ns() - stamp) / 1000.0);
  }
  std::sort(writes_us.begin(), writes_us.end());
  shmring::RecordHeader eos;
  eos.kind = kEosRecord;
  writer->write(eos, nullptr, in(10000));
  // The reader has written its line once it has ended well (a pipe holds it).
  if (reader.join() != 0)
    return 1;
  char line[200] = {};
  const ssize_t got = read(results[0], line, sizeof(line) - 1);
  if (got <= 0)
    return 1;
  line[got - 1] = '\0';  // the reader's line, without its line break
  std::printf("%s write_us=%.2f\n", line,
              writes_us.empty() ? 0.0 : writes_us[writes_us.size() / 2]);
  return 0;
}
