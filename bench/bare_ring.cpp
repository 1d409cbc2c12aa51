// The anchor for every two-process ring on this machine: a bare
// single-producer single-consumer ring in shared memory, as rigtorp's
// SPSCQueue builds one, and nothing else. Two indices on cache lines of
// their own, each side keeping a copy of the other's so that it reads it
// only when the ring looks full or empty; no record header, no sequence
// check, no holder mask, no wake-up, no liveness, no validation. What it
// shows is what the cores and the memory between them give a ring of this
// record size and slot count; a ring that does more per record is read
// against it.
//
// The writer copies each record in from one of 256 buffers of random bytes,
// in turn (as queue-bandwidth does); the reader copies it out (MODE copy) or
// reads its first and last byte in place (MODE touch, as ring-bandwidth's
// reader and a lease do). Writer on CPU 0, reader on CPU 1.
//
//   bare-ring RECORD_BYTES SLOTS SECONDS copy|touch
// prints: record_bytes slots records seconds payload_bytes_per_second
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "pin.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kCacheLine = 64;
constexpr int kSources = 256;

struct alignas(kCacheLine) Index {
  std::atomic<std::uint64_t> value{0};
};

// The shared part: what each side publishes, then the slots.
struct Shared {
  Index head;      // records written (the writer's)
  Index tail;      // records read (the reader's)
  Index end;       // records the writer wrote in all, once it has stopped
  Index finished;  // 1 once `end` is set
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

struct Ring {
  Shared *shared;
  std::byte *slots;
  std::size_t record;
  std::size_t stride;
  std::uint64_t count;
  std::byte *slot(std::uint64_t i) const { return slots + (i % count) * stride; }
};

// Writes for `seconds` from `start`, which it sets once its data are drawn.
// Returns how many, or 0 if the reader died.
std::uint64_t write_records(const Ring &ring, pid_t reader, double seconds,
                            Clock::time_point &start) {
  std::vector<std::vector<std::byte>> sources(kSources, std::vector<std::byte>(ring.record));
  std::mt19937_64 random(42);
  for (auto &source : sources)
    for (auto &byte : source)
      byte = static_cast<std::byte>(random());
  std::uint64_t head = 0, tail_seen = 0;
  start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    // The clock once per 64 records: reading it costs as much as a record.
    for (int i = 0; i < 64; ++i) {
      for (std::uint32_t polls = 1; head - tail_seen == ring.count; ++polls) {
        tail_seen = ring.shared->tail.value.load(std::memory_order_acquire);
        if (head - tail_seen < ring.count)
          break;
        cpu_relax();
        // A reader that died never frees a slot: give up rather than spin.
        if (polls % (1u << 20) == 0 && waitpid(reader, nullptr, WNOHANG) != 0)
          return 0;
      }
      std::memcpy(ring.slot(head), sources[head % kSources].data(), ring.record);
      ring.shared->head.value.store(++head, std::memory_order_release);
    }
  }
  return head;
}

// Reads until the writer has finished and everything is read; the sum
// keeps the reads from being optimised away.
unsigned read_records(const Ring &ring, bool copy) {
  std::vector<std::byte> destination(ring.record);
  std::uint64_t tail = 0, head_seen = 0;
  unsigned sum = 0;
  for (;;) {
    while (tail == head_seen) {
      head_seen = ring.shared->head.value.load(std::memory_order_acquire);
      if (tail != head_seen)
        break;
      if (ring.shared->finished.value.load(std::memory_order_acquire) &&
          ring.shared->end.value.load(std::memory_order_relaxed) == tail)
        return sum;
      cpu_relax();
    }
    const std::byte *slot = ring.slot(tail);
    if (copy) {
      std::memcpy(destination.data(), slot, ring.record);
      sum += static_cast<unsigned>(destination[ring.record - 1]);
    } else {
      sum += static_cast<unsigned>(slot[0]) + static_cast<unsigned>(slot[ring.record - 1]);
    }
    ring.shared->tail.value.store(++tail, std::memory_order_release);
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 5 || (std::string(argv[4]) != "copy" && std::string(argv[4]) != "touch")) {
    std::fprintf(stderr, "usage: %s RECORD_BYTES SLOTS SECONDS copy|touch\n", argv[0]);
    return 2;
  }
  const std::size_t record = std::strtoull(argv[1], nullptr, 10);
  const std::uint64_t count = std::strtoull(argv[2], nullptr, 10);
  const double seconds = std::atof(argv[3]);
  const bool copy = std::string(argv[4]) == "copy";
  if (record == 0 || count < 2 || seconds <= 0) {
    std::fprintf(stderr, "RECORD_BYTES and SECONDS must be positive, SLOTS at least 2\n");
    return 2;
  }
  const std::size_t stride = (record + kCacheLine - 1) / kCacheLine * kCacheLine;
  const std::size_t bytes = sizeof(Shared) + stride * count;
  // Anonymous shared memory: the same shmem pages a named object maps.
  void *memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  Ring ring{new (memory) Shared, static_cast<std::byte *>(memory) + sizeof(Shared), record, stride,
            count};
  std::memset(ring.slots, 0, stride * count);  // both sides start on mapped pages

  const pid_t reader = fork();
  if (reader == 0) {
    pin_to_cpu(1);
    _exit(read_records(ring, copy) == 0x7fffffff ? 3 : 0);
  }
  pin_to_cpu(0);
  Clock::time_point start;
  const std::uint64_t records = write_records(ring, reader, seconds, start);
  ring.shared->end.value.store(records, std::memory_order_relaxed);
  ring.shared->finished.value.store(1, std::memory_order_release);
  int status = 0;
  waitpid(reader, &status, 0);  // the reader has read everything
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (records == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "the reader failed\n");
    return 1;
  }
  std::printf("%zu %llu %llu %.6f %.0f\n", record, static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(records), elapsed,
              double(records) * double(record) / elapsed);
  return 0;
}
