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
// Each mode does what the rows it stands beside do. MODE copy, as
// queue-bandwidth: the writer copies each record in from one of 256 buffers
// of random bytes, in turn, and the reader copies it out. MODE touch, as
// ring-bandwidth: the writer copies in one warm buffer, and the reader reads
// the first and last byte in place. MODE held, touch plus the per-record
// synchronisation that a ring whose readers hold slots and sleep needs, and
// no more: the writer marks the slot's sequence word and then looks at its
// holder word (a store then a load: a full fence, else a reader's hold could
// pass unseen), and publishes the head with a store that is ordered before
// its look at a sleeper count (another full fence); the reader takes and
// drops a hold on each record (two locked read-modify-writes) and checks the
// sequence in between. That is shmring's ring protocol stripped of
// everything else; the gap between touch and held is what those four
// orderings cost, the gap between held and the core ring what the rest does.
// Writer on CPU 0, reader on CPU 1; the reader ends with the writer, however
// the writer ends.
//
//   bare-ring RECORD_BYTES SLOTS SECONDS copy|touch|held
// prints: record_bytes slots records seconds payload_bytes_per_second
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
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
// Limits that keep the arguments' arithmetic and the sources' memory (256
// records) sane: the rows this stands beside go up to 1 MiB and 64 slots.
constexpr std::uint64_t kMaxRecord = 4 << 20;
constexpr std::uint64_t kMaxSlots = 1 << 16;
constexpr double kMaxSeconds = 3600;

struct alignas(kCacheLine) Index {
  std::atomic<std::uint64_t> value{0};
};

// MODE held: each slot's words, on a line of their own, as a ring's slot
// header keeps them.
struct alignas(kCacheLine) SlotWords {
  std::atomic<std::uint64_t> sequence{0};
  std::atomic<std::uint64_t> holders{0};
};
constexpr std::uint64_t kBeingWritten = ~std::uint64_t{0};

// The shared part: what each side publishes, then the slots.
struct Shared {
  Index head;      // records written (the writer's)
  Index tail;      // records read (the reader's)
  Index end;       // records the writer wrote in all, once it has stopped
  Index finished;  // 1 once `end` is set
  Index sleepers;  // MODE held: readers asleep (none here; the writer looks)
};

enum class Mode { Copy, Touch, Held };

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

struct Ring {
  Shared *shared;
  SlotWords *words;  // one per slot
  std::byte *slots;
  std::size_t record;
  std::size_t stride;
  std::uint64_t count;
  std::byte *slot(std::uint64_t i) const { return slots + (i % count) * stride; }
};

// Writes for `seconds` from `start`, which it sets once its data are drawn
// (at least 64 records). False if the reader died.
bool write_records(const Ring &ring, Mode mode, pid_t reader, double seconds,
                   Clock::time_point &start, std::uint64_t &records) {
  std::vector<std::vector<std::byte>> sources(mode == Mode::Copy ? kSources : 1,
                                              std::vector<std::byte>(ring.record));
  std::mt19937_64 random(42);
  for (auto &source : sources)
    for (auto &byte : source)
      byte = static_cast<std::byte>(random());
  std::uint64_t head = 0, tail_seen = 0;
  start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  do {
    // The clock once per 64 records: reading it costs as much as a record.
    for (int i = 0; i < 64; ++i) {
      for (std::uint32_t polls = 1; head - tail_seen == ring.count; ++polls) {
        tail_seen = ring.shared->tail.value.load(std::memory_order_acquire);
        if (head - tail_seen < ring.count)
          break;
        cpu_relax();
        // A reader that died never frees a slot: give up rather than spin.
        if (polls % (1u << 20) == 0 && waitpid(reader, nullptr, WNOHANG) != 0) {
          records = head;
          return false;
        }
      }
      if (mode != Mode::Held) {
        std::memcpy(ring.slot(head), sources[head % sources.size()].data(), ring.record);
        ring.shared->head.value.store(++head, std::memory_order_release);
        continue;
      }
      SlotWords &words = ring.words[head % ring.count];
      words.sequence.store(kBeingWritten, std::memory_order_seq_cst);
      while (words.holders.load(std::memory_order_seq_cst) != 0)
        cpu_relax();  // never here: the reader lets go before it moves on
      std::memcpy(ring.slot(head), sources[0].data(), ring.record);
      words.sequence.store(head, std::memory_order_release);
      // Ordered before the look for sleepers (both seq_cst, as a waker's
      // store and load must be): on x86 the store is the full fence.
      ring.shared->head.value.store(++head, std::memory_order_seq_cst);
      if (ring.shared->sleepers.value.load(std::memory_order_seq_cst) != 0)
        std::abort();  // nobody sleeps in this benchmark
    }
  } while (Clock::now() < end);
  records = head;
  return true;
}

// Reads until the writer has finished and everything is read; the sum
// keeps the reads from being optimised away.
unsigned read_records(const Ring &ring, Mode mode) {
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
    SlotWords &words = ring.words[tail % ring.count];
    if (mode == Mode::Held) {
      words.holders.fetch_or(1, std::memory_order_seq_cst);
      if (words.sequence.load(std::memory_order_seq_cst) != tail)
        std::abort();  // the writer never takes a slot that is not read
    }
    if (mode == Mode::Copy) {
      std::memcpy(destination.data(), slot, ring.record);
      sum += static_cast<unsigned>(destination[ring.record - 1]);
    } else {
      sum += static_cast<unsigned>(slot[0]) + static_cast<unsigned>(slot[ring.record - 1]);
    }
    if (mode == Mode::Held)
      words.holders.fetch_and(0, std::memory_order_seq_cst);
    ring.shared->tail.value.store(++tail, std::memory_order_release);
  }
}

// A whole decimal number in [1, limit], or 0.
std::uint64_t parse_count(const char *text, std::uint64_t limit) {
  if (*text < '0' || *text > '9')
    return 0;  // no sign, no space: strtoull would wrap "-1"
  char *end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  return errno == 0 && *end == '\0' && value <= limit ? value : 0;
}

int usage(const char *program) {
  std::fprintf(stderr,
               "usage: %s RECORD_BYTES SLOTS SECONDS copy|touch|held\n"
               "  RECORD_BYTES 1-%llu, SLOTS 2-%llu, SECONDS a number in (0, %.0f]\n",
               program, static_cast<unsigned long long>(kMaxRecord),
               static_cast<unsigned long long>(kMaxSlots), kMaxSeconds);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  const std::string mode_name = argc == 5 ? argv[4] : "";
  if (mode_name != "copy" && mode_name != "touch" && mode_name != "held")
    return usage(argv[0]);
  const Mode mode = mode_name == "copy"    ? Mode::Copy
                    : mode_name == "touch" ? Mode::Touch
                                           : Mode::Held;
  const std::size_t record = parse_count(argv[1], kMaxRecord);
  const std::uint64_t count = parse_count(argv[2], kMaxSlots);
  // Decimal seconds only (strtod also reads hex, "inf" and "nan").
  char *seconds_end = nullptr;
  const bool decimal = std::strspn(argv[3], "0123456789.eE+-") == std::strlen(argv[3]);
  const double seconds = std::strtod(argv[3], &seconds_end);
  if (record == 0 || count < 2 || !decimal || *seconds_end != '\0' || seconds_end == argv[3] ||
      !std::isfinite(seconds) || seconds <= 0 || seconds > kMaxSeconds)
    return usage(argv[0]);
  const std::size_t stride = (record + kCacheLine - 1) / kCacheLine * kCacheLine;
  const std::size_t words_bytes = sizeof(SlotWords) * count;
  const std::size_t bytes = sizeof(Shared) + words_bytes + stride * count;
  // Anonymous shared memory: the same shmem pages a named object maps.
  void *memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  std::byte *base = static_cast<std::byte *>(memory);
  Ring ring{new (base) Shared,
            new (base + sizeof(Shared)) SlotWords[count],
            base + sizeof(Shared) + words_bytes,
            record,
            stride,
            count};
  std::memset(ring.slots, 0, stride * count);  // both sides start on mapped pages

  const pid_t writer = getpid();
  const pid_t reader = fork();
  if (reader < 0) {
    std::perror("fork");
    return 1;
  }
  if (reader == 0) {
    // The reader polls for as long as the writer may write: it goes with
    // the writer, killed or crashed, rather than spin on as an orphan.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != writer)
      _exit(1);  // the writer went before the line above
    pin_to_cpu(1);
    _exit(read_records(ring, mode) == 0x7fffffff ? 3 : 0);
  }
  pin_to_cpu(0);
  Clock::time_point start;
  std::uint64_t records = 0;
  const bool reader_alive = write_records(ring, mode, reader, seconds, start, records);
  ring.shared->end.value.store(records, std::memory_order_relaxed);
  ring.shared->finished.value.store(1, std::memory_order_release);
  int status = 0;
  if (reader_alive)
    waitpid(reader, &status, 0);  // the reader has read everything
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (!reader_alive || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "the reader died after %llu records\n",
                 static_cast<unsigned long long>(records));
    return 1;
  }
  std::printf("%zu %llu %llu %.6f %.0f\n", record, static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(records), elapsed,
              double(records) * double(record) / elapsed);
  return 0;
}
