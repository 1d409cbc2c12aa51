// One-way latency of the core ring itself: a writer process publishes one
// small record at a time into an otherwise idle ring, stamped with
// CLOCK_MONOTONIC; a reader process asleep in next() (futex) is woken and
// reads the stamp. Prints samples=N median_us=M p99_us=P max_us=X.
//
//   ring-latency COUNT INTERVAL_US
#include <sys/wait.h>
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
}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s COUNT INTERVAL_US\n", argv[0]);
    return 2;
  }
  const int count = std::atoi(argv[1]);
  const int interval_us = std::atoi(argv[2]);
  const std::string name = "bench-latency-" + std::to_string(getpid());
  auto writer = shmring::Writer::create({name, 8, 64});
  int results[2];
  if (pipe(results) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    auto reader = shmring::Reader::open({name, false});
    std::vector<double> latencies_us;
    for (;;) {
      shmring::Frame frame;
      if (reader->next(frame, in(10000)) != shmring::ReadStatus::Frame)
        _exit(1);
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
    char line[160];
    const int length =
        std::snprintf(line, sizeof(line), "samples=%zu median_us=%.1f p99_us=%.1f max_us=%.1f\n",
                      latencies_us.size(), at(0.5), at(0.99), latencies_us.back());
    (void)!write(results[1], line, static_cast<std::size_t>(length));
    _exit(0);
  }
  close(results[1]);
  if (writer->wait_for_reader(in(10000)) != shmring::WaitStatus::Ok)
    return 1;
  shmring::RecordHeader info;
  info.size = sizeof(std::uint64_t);
  for (int i = 0; i < count; ++i) {
    usleep(static_cast<useconds_t>(interval_us));  // the reader is asleep again
    const std::uint64_t stamp = monotonic_ns();
    if (writer->write(info, &stamp, in(10000)) != shmring::WaitStatus::Ok)
      return 1;
  }
  shmring::RecordHeader eos;
  eos.kind = kEosRecord;
  writer->write(eos, nullptr, in(10000));
  char line[160] = {};
  const ssize_t got = read(results[0], line, sizeof(line) - 1);
  int status = 0;
  waitpid(child, &status, 0);
  if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return 1;
  std::fputs(line, stdout);
  return 0;
}
