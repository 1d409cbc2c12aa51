// The fork-based tests again, with threads sharing one handle, so that
// ThreadSanitizer (which sees one process's accesses through one mapping)
// can check the handles' own synchronisation: a ring writer lent to several
// threads (as the sink's buffer pool does), a reader whose frames are
// released from other threads (as GstMemory is freed), and queue and buffer
// handles used by many threads at once. They also run in the plain build.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "shmring/circular_buffer.hpp"
#include "shmring/reader.hpp"
#include "shmring/shared_buffer.hpp"
#include "shmring/writer.hpp"
#include "test_support.hpp"

using namespace shmring;
using shmring::test::in_ms;
using shmring::test::RingTest;

namespace {

constexpr int kThreads = 4;

TEST_F(RingTest, ThreadsShareOneWriterAndOneReader) {
  const std::string name = ring("threads-ring");
  // Room for every thread's lent slot and hold, and unread records besides.
  auto writer = Writer::create({name, 16, 64});
  auto reader = Reader::open({name, false});
  constexpr int kPerThread = 500;
  std::atomic<bool> done{false};
  std::vector<std::thread> releasers;
  std::vector<std::atomic<std::uint32_t>> to_release(kThreads);
  for (auto &slot : to_release)
    slot.store(~0u);

  // Several threads acquire, fill and publish through the one writer.
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WritableSlot slot;
        ASSERT_EQ(writer->acquire(slot, in_ms(10000)), WaitStatus::Ok);
        const std::uint64_t value = std::uint64_t(t) << 32 | std::uint32_t(i);
        std::memcpy(slot.data, &value, sizeof value);
        RecordHeader record;
        record.size = sizeof value;
        writer->publish(slot, record);
      }
    });
  }
  // Frames are released from other threads than the one reading.
  for (int t = 0; t < kThreads; ++t) {
    releasers.emplace_back([&, t] {
      while (!done.load()) {
        const std::uint32_t slot = to_release[t].exchange(~0u);
        if (slot != ~0u)
          reader->release(slot);
        else
          std::this_thread::yield();
      }
    });
  }
  std::set<std::uint64_t> seen;
  std::uint64_t last_of[kThreads] = {};
  bool first_of[kThreads] = {true, true, true, true};
  while (seen.size() < std::size_t(kThreads * kPerThread)) {
    Frame frame;
    ASSERT_EQ(reader->next(frame, in_ms(10000)), ReadStatus::Frame);
    const std::uint64_t value = shmring::test::value_in(frame);
    const int t = int(value >> 32);
    ASSERT_LT(t, kThreads);
    // One producer's records arrive in the order it published them.
    if (!first_of[t]) {
      EXPECT_GT(value, last_of[t]);
    }
    first_of[t] = false;
    last_of[t] = value;
    seen.insert(value);
    // Hand the hold to a releaser; wait until it has taken the last one.
    while (to_release[frame.sequence % kThreads].load() != ~0u)
      std::this_thread::yield();
    to_release[frame.sequence % kThreads].store(frame.slot);
  }
  for (auto &producer : producers)
    producer.join();
  done.store(true);
  for (auto &releaser : releasers)
    releaser.join();
  for (auto &slot : to_release) {
    if (slot.load() != ~0u)
      reader->release(slot.load());
  }
  EXPECT_EQ(reader->counters().lost, 0u);
  EXPECT_EQ(writer->stats().published, std::uint64_t(kThreads * kPerThread));
}

TEST_F(RingTest, InterruptFromAnotherThreadEndsEveryWait) {
  const std::string name = ring("threads-interrupt");
  auto writer = Writer::create({name, 2, 64});
  auto reader = Reader::open({name, false});
  // A reader waiting forever on an empty ring.
  std::thread waiting_reader([&] {
    Frame frame;
    EXPECT_EQ(reader->next(frame, kNever), ReadStatus::Interrupted);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  reader->interrupt();
  waiting_reader.join();
  // A writer waiting forever for a blocking reader that reads nothing.
  RecordHeader record;
  record.size = 8;
  std::uint64_t value = 0;
  ASSERT_EQ(writer->write(record, &value, in_ms(100)), WaitStatus::Ok);
  ASSERT_EQ(writer->write(record, &value, in_ms(100)), WaitStatus::Ok);
  std::thread waiting_writer([&] {
    WritableSlot slot;
    EXPECT_EQ(writer->acquire(slot, kNever), WaitStatus::Interrupted);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  writer->interrupt();
  waiting_writer.join();
}

TEST_F(RingTest, ThreadsShareOneQueueHandle) {
  const std::string name = ring("threads-queue");
  auto queue = CircularBuffer::create(name, 4, 64);
  constexpr std::uint32_t kPerThread = 2000;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::uint32_t>> taken(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < kPerThread; ++i) {
        const std::uint32_t item = std::uint32_t(t) * kPerThread + i;
        ASSERT_TRUE(queue.write(&item, sizeof item, std::chrono::seconds(10)));
      }
    });
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < kPerThread; ++i) {
        auto lease = queue.acquire_read(std::chrono::seconds(10));
        ASSERT_TRUE(lease);
        std::uint32_t item;
        std::memcpy(&item, lease.data(), sizeof item);
        taken[t].push_back(item);
      }
    });
  }
  for (auto &thread : threads)
    thread.join();
  std::set<std::uint32_t> all;
  for (const auto &list : taken)
    all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), std::size_t(kThreads) * kPerThread) << "each item taken exactly once";
}

TEST_F(RingTest, ThreadsShareOneBufferHandleAndItsLock) {
  const std::string name = ring("threads-buffer");
  auto buffer = SharedBuffer::create(name, 64);
  struct Pair {
    std::uint64_t a, b;
  };
  buffer.write(Pair{0, 0});
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 1; i <= 300; ++i) {
        if (t % 2 == 0) {
          ASSERT_TRUE(buffer.write(Pair{i, i}, 0, std::chrono::seconds(10)));
        } else {
          Pair seen{};
          ASSERT_TRUE(buffer.read(&seen, sizeof seen, 0, std::chrono::seconds(10)));
          if (seen.a != seen.b)
            ++torn;
        }
      }
    });
  }
  for (auto &thread : threads)
    thread.join();
  EXPECT_EQ(torn.load(), 0) << "the lock keeps readers away from a half-written pair";
}

// Growing a ring: the old writer gives up the name, a successor takes it,
// and the old ring goes on for the reader that has it mapped; closing the
// old one leaves the successor's name alone. The successor waits for its
// readers through wait_for_readers, woken by the attach of a reader in
// another thread, and gives up at its deadline or on interrupt().
TEST_F(RingTest, ASuccessorTakesTheNameWhileTheOldRingGoesOn) {
  const std::string name = ring("successor");
  auto old_writer = Writer::create({name, 4, 64});
  auto old_reader = Reader::open({name, false});
  RecordHeader record;
  record.size = sizeof(std::uint64_t);
  const std::uint64_t first = 1, second = 2;
  ASSERT_EQ(old_writer->write(record, &first, in_ms(1000)), WaitStatus::Ok);
  old_writer->release_name();
  auto successor = Writer::create({name, 4, 4096});
  ASSERT_EQ(old_writer->write(record, &second, in_ms(1000)), WaitStatus::Ok);
  old_writer->close();
  for (std::uint64_t want : {first, second}) {
    Frame frame;
    ASSERT_EQ(old_reader->next(frame, in_ms(1000)), ReadStatus::Frame);
    const std::uint64_t value = shmring::test::value_in(frame);
    old_reader->release(frame.slot);
    EXPECT_EQ(value, want);
  }
  Frame frame;
  EXPECT_EQ(old_reader->next(frame, in_ms(1000)), ReadStatus::WriterClosed);

  const pid_t me = getpid();
  auto one_of_mine = [me](const std::vector<ReaderInfo> &readers) {
    return std::any_of(readers.begin(), readers.end(),
                       [me](const ReaderInfo &r) { return r.pid == me; });
  };
  EXPECT_EQ(successor->wait_for_readers(one_of_mine, in_ms(50)), WaitStatus::Timeout);
  std::shared_ptr<Reader> follower;
  std::thread attach([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    follower = Reader::open({name, false});
  });
  EXPECT_EQ(successor->wait_for_readers(one_of_mine, in_ms(10000)), WaitStatus::Ok);
  attach.join();
  ASSERT_TRUE(follower);
  EXPECT_EQ(follower->slot_size(), 4096u) << "the name is the successor's";
  successor->interrupt();
  EXPECT_EQ(successor->wait_for_readers([](const auto &) { return false; }, in_ms(10000)),
            WaitStatus::Interrupted);
  successor->close();
}

// A ring that carries on another's stream numbers its records from where
// that one stopped: a reader that joined before the first record reads it
// with that sequence and no loss; one that joins later starts at the newest.
TEST_F(RingTest, ARingNumbersItsRecordsFromItsFirstSequence) {
  const std::string name = ring("first-sequence");
  WriterOptions options;
  options.name = name;
  options.slot_count = 4;
  options.slot_size = 64;
  options.first_sequence = 1000;
  auto writer = Writer::create(options);
  EXPECT_EQ(writer->next_sequence(), 1000u);
  auto early = Reader::open({name, false});
  RecordHeader record;
  record.size = sizeof(std::uint64_t);
  for (std::uint64_t value = 0; value < 3; ++value)
    ASSERT_EQ(writer->write(record, &value, in_ms(1000)), WaitStatus::Ok);
  for (std::uint64_t want = 0; want < 3; ++want) {
    Frame frame;
    ASSERT_EQ(early->next(frame, in_ms(1000)), ReadStatus::Frame);
    EXPECT_EQ(frame.sequence, 1000 + want);
    EXPECT_EQ(frame.lost_before, 0u);
    early->release(frame.slot);
  }
  auto late = Reader::open({name, false});
  Frame frame;
  ASSERT_EQ(late->next(frame, in_ms(1000)), ReadStatus::Frame);
  EXPECT_EQ(frame.sequence, 1002u) << "a late reader starts at the newest record";
  late->release(frame.slot);
  writer->close();
}

}  // namespace
