// The seed's CircularBuffer in queue mode, between real processes: several
// writers and readers, every item taken exactly once, timeouts, zero-copy
// leases, and nodes recovered from writers and readers killed holding them.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "child_process.hpp"
#include "shmring/circular_buffer.hpp"
#include "shmring/error.hpp"
#include "shmring/shared_array.hpp"

using namespace shmring;
using namespace std::chrono_literals;
using shmring::test::expect_clean_exit;
using shmring::test::fnv1a;
using shmring::test::kill_child;
using shmring::test::RingTest;
using shmring::test::Signal;
using shmring::test::spawn;

namespace {

constexpr std::uint64_t kNodeSize = 256;

// One item: who wrote it, its number, a variable-length payload and a
// checksum over the payload, so a torn or mixed-up item is caught.
struct Item {
  std::uint32_t writer;
  std::uint32_t number;
  std::uint64_t checksum;
  std::uint8_t payload[kNodeSize - 16];

  std::size_t size() const { return 16 + (number % (sizeof payload)); }
};
constexpr std::uint32_t kStopWriter = 0xffffffff;

Item make_item(std::uint32_t writer, std::uint32_t number) {
  Item item{};
  item.writer = writer;
  item.number = number;
  const std::size_t length = item.size() - 16;
  for (std::size_t i = 0; i < length; ++i)
    item.payload[i] = static_cast<std::uint8_t>(writer * 31 + number + i);
  item.checksum = fnv1a(item.payload, length);
  return item;
}

class CircularBufferTest : public RingTest {};

TEST_F(CircularBufferTest, ArgumentsAreChecked) {
  const std::string name = ring("queue-args");
  EXPECT_THROW(CircularBuffer::create(name, 1, 64), Error);  // at least 2 nodes
  EXPECT_THROW(CircularBuffer::create(name, 2, 0), Error);
  auto queue = CircularBuffer::create(name, 2, 64);
  std::uint8_t big[65] = {};
  try {
    queue.write(big, sizeof big, kNoWait);
    ADD_FAILURE() << "an item larger than a node was accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::TooLarge);
  }
  try {
    queue.read(big, 63, kNoWait);
    ADD_FAILURE() << "a read buffer smaller than a node was accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
  }
  EXPECT_THROW(SharedArray<int>::open(name), Error);  // another kind
}

TEST_F(CircularBufferTest, TimeoutsOnEmptyAndFull) {
  const std::string name = ring("queue-timeouts");
  auto queue = CircularBuffer::create(name, 2, 64);
  std::uint8_t buffer[64] = {};
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(queue.read(buffer, sizeof buffer, 50ms).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_TRUE(queue.write(buffer, 10, kNoWait));
  EXPECT_TRUE(queue.write(buffer, 20, kNoWait));
  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(queue.write(buffer, 30, 50ms));  // full: both nodes hold items
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(queue.read(buffer, sizeof buffer, kNoWait), std::optional<std::size_t>(10));
  EXPECT_TRUE(queue.write(buffer, 30, kNoWait));
  EXPECT_EQ(queue.read(buffer, sizeof buffer, kNoWait), std::optional<std::size_t>(20));
  EXPECT_EQ(queue.read(buffer, sizeof buffer, kNoWait), std::optional<std::size_t>(30));
}

// 3 writer processes and 3 reader processes on 4 nodes: every item arrives
// exactly once, intact, and each reader sees each writer's items in order.
TEST_F(CircularBufferTest, SeveralWritersAndReadersTakeEachItemOnce) {
  const std::string name = ring("queue-mpmc");
  constexpr std::uint32_t kWriters = 3, kReaders = 3, kPerWriter = 3000;
  auto queue = CircularBuffer::create(name, 4, kNodeSize);
  // Each reader reports what it took through a shared array of its own.
  std::vector<std::unique_ptr<SharedArray<std::uint64_t>>> reports;
  for (std::uint32_t r = 0; r < kReaders; ++r)
    reports.push_back(
        std::make_unique<SharedArray<std::uint64_t>>(SharedArray<std::uint64_t>::create(
            ring("queue-report" + std::to_string(r)), kWriters * kPerWriter + 1)));

  std::vector<pid_t> readers, writers;
  for (std::uint32_t r = 0; r < kReaders; ++r) {
    const std::string report_name = reports[r]->name();
    readers.push_back(spawn([&, r, report_name] {
      auto jobs = CircularBuffer::open(name);
      auto report = SharedArray<std::uint64_t>::open(report_name);
      std::uint64_t taken = 0;
      std::vector<std::int64_t> last(kWriters, -1);
      for (;;) {
        Item item{};
        std::size_t size = 0;
        if (r == 0) {  // one reader uses zero-copy leases, the others copy
          auto lease = jobs.acquire_read(10s);
          if (!lease)
            throw std::runtime_error("reader starved");
          size = lease.size();
          std::memcpy(&item, lease.data(), std::min(size, sizeof item));
        } else {
          auto got = jobs.read(&item, sizeof item, 10s);
          if (!got)
            throw std::runtime_error("reader starved");
          size = *got;
        }
        if (item.writer == kStopWriter)
          break;
        if (item.writer >= kWriters || size != item.size() ||
            item.checksum != fnv1a(item.payload, size - 16))
          throw std::runtime_error("torn item");
        if (static_cast<std::int64_t>(item.number) <= last[item.writer])
          throw std::runtime_error("a writer's items out of order");
        last[item.writer] = item.number;
        report.set(++taken, (std::uint64_t{item.writer} << 32) | item.number);
      }
      report.set(0, taken);
    }));
  }
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    writers.push_back(spawn([&, w] {
      auto jobs = CircularBuffer::open(name);
      for (std::uint32_t n = 0; n < kPerWriter; ++n) {
        const Item item = make_item(w, n);
        if (n % 2 == 0) {  // alternate zero-copy commit and copying write
          auto lease = jobs.acquire_write(10s);
          if (!lease)
            throw std::runtime_error("writer starved");
          std::memcpy(lease.data(), &item, item.size());
          lease.commit(item.size());
        } else if (!jobs.write(&item, item.size(), 10s)) {
          throw std::runtime_error("writer starved");
        }
      }
    }));
  }
  for (pid_t writer : writers)
    expect_clean_exit(writer, 60000);
  for (std::uint32_t r = 0; r < kReaders; ++r) {
    Item stop{};
    stop.writer = kStopWriter;
    ASSERT_TRUE(queue.write(&stop, sizeof stop, 10s));
  }
  for (pid_t reader : readers)
    expect_clean_exit(reader, 60000);

  std::multiset<std::uint64_t> all;
  std::uint64_t total = 0;
  for (auto &report : reports) {
    const std::uint64_t taken = report->at(0);
    total += taken;
    std::vector<std::uint64_t> got(taken);
    report->read(got.data(), taken, 1);
    all.insert(got.begin(), got.end());
  }
  EXPECT_EQ(total, std::uint64_t{kWriters} * kPerWriter);
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    for (std::uint32_t n = 0; n < kPerWriter; ++n)
      ASSERT_EQ(all.count((std::uint64_t{w} << 32) | n), 1u) << w << "/" << n;
  }
  const auto counters = queue.counters();
  EXPECT_EQ(counters.written, std::uint64_t{kWriters} * kPerWriter + kReaders);
  EXPECT_EQ(counters.taken, counters.written);
  EXPECT_EQ(counters.abandoned + counters.lost, 0u);
}

TEST_F(CircularBufferTest, UncommittedLeaseIsSkipped) {
  const std::string name = ring("queue-abandon");
  auto queue = CircularBuffer::create(name, 2, 64);
  {
    auto lease = queue.acquire_write(kNoWait);
    ASSERT_TRUE(lease);
    std::memcpy(lease.data(), "half", 4);
  }  // never committed
  ASSERT_TRUE(queue.write("whole", 5, kNoWait));
  char text[64] = {};
  EXPECT_EQ(queue.read(text, sizeof text, 1s), std::optional<std::size_t>(5));
  EXPECT_EQ(std::string(text, 5), "whole");
  EXPECT_EQ(queue.counters().abandoned, 1u);
}

// Leases move like the handles they are: the moved-from one is empty and
// gives nothing back; a lease assigned over another first gives that one
// back (an uncommitted write lease is abandoned, a read lease released).
TEST_F(CircularBufferTest, LeasesMoveAndGiveBackWhatTheyHeld) {
  const std::string name = ring("queue-move");
  auto queue = CircularBuffer::create(name, 4, 64);
  auto first = queue.acquire_write(kNoWait);
  ASSERT_TRUE(first);
  std::memcpy(first.data(), "one", 3);
  CircularBuffer::WriteLease moved(std::move(first));
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(moved);
  moved.commit(3);
  auto second = queue.acquire_write(kNoWait);
  ASSERT_TRUE(second);
  second = queue.acquire_write(kNoWait);  // the first of these is abandoned
  ASSERT_TRUE(second);
  std::memcpy(second.data(), "two", 3);
  second.commit(3);
  EXPECT_EQ(queue.counters().abandoned, 1u);

  auto read = queue.acquire_read(1s);
  ASSERT_TRUE(read);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(read.data()), read.size()), "one");
  CircularBuffer::ReadLease kept(std::move(read));
  EXPECT_FALSE(read);             // NOLINT(bugprone-use-after-move)
  kept = queue.acquire_read(1s);  // "one" is released, "two" is held
  ASSERT_TRUE(kept);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(kept.data()), kept.size()), "two");
  kept.release();
  // Every node is free again: four writes fit without a wait.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(queue.write("x", 1, kNoWait)) << i;
  CircularBuffer moved_queue(std::move(queue));
  EXPECT_EQ(moved_queue.name(), name);
}

// A writer killed between acquire and commit: the reader waiting on that
// position skips it and receives the next writer's item.
TEST_F(CircularBufferTest, WriterKilledHoldingANodeIsSkipped) {
  const std::string name = ring("queue-dead-writer");
  auto queue = CircularBuffer::create(name, 4, 64);
  Signal holding;
  pid_t child = spawn([&] {
    auto jobs = CircularBuffer::open(name);
    auto lease = jobs.acquire_write(1s);
    holding.send();
    pause();
  });
  ASSERT_EQ(holding.receive(10000), 1);
  ASSERT_TRUE(queue.write("after", 5, kNoWait));
  char text[64] = {};
  EXPECT_FALSE(queue.read(text, sizeof text, 200ms).has_value());  // blocked behind it
  kill_child(child);
  EXPECT_EQ(queue.read(text, sizeof text, 5s), std::optional<std::size_t>(5));
  EXPECT_EQ(std::string(text, 5), "after");
  EXPECT_EQ(queue.counters().abandoned, 1u);
}

// A reader killed holding a node: a writer waiting for that node gets it back.
TEST_F(CircularBufferTest, ReaderKilledHoldingANodeIsRecovered) {
  const std::string name = ring("queue-dead-reader");
  auto queue = CircularBuffer::create(name, 2, 64);
  ASSERT_TRUE(queue.write("one", 3, kNoWait));
  ASSERT_TRUE(queue.write("two", 3, kNoWait));
  Signal holding;
  pid_t child = spawn([&] {
    auto jobs = CircularBuffer::open(name);
    auto lease = jobs.acquire_read(1s);
    holding.send(lease ? 1 : 2);
    pause();
  });
  ASSERT_EQ(holding.receive(10000), 1);
  EXPECT_FALSE(queue.write("three", 5, 200ms));  // its node is still held
  kill_child(child);
  EXPECT_TRUE(queue.write("three", 5, 5s));
  char text[64] = {};
  EXPECT_EQ(queue.read(text, sizeof text, 1s), std::optional<std::size_t>(3));
  EXPECT_EQ(std::string(text, 3), "two");
  EXPECT_EQ(queue.read(text, sizeof text, 1s), std::optional<std::size_t>(5));
  EXPECT_EQ(queue.counters().lost, 1u);
}

}  // namespace
