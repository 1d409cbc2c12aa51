// Which slot the writer lends: small records take the slots in turn, large
// ones the warmest slot first; and what the writer's once-a-lap look at its
// readers must still see at once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <set>
#include <vector>

#include "numbered_stream.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"
#include "test_support.hpp"

using namespace shmring;
using shmring::test::in_ms;
using shmring::test::RingTest;
using shmring::test::value_in;
using shmring::test::wait_child;
using shmring::test::write_value;

namespace {

// Writes `count` records of `size` bytes, each read and released by
// `reader` before the next is written; returns the slot of each.
std::vector<std::uint32_t> slots_read_along(Writer &writer, Reader &reader, int count,
                                            std::uint64_t size) {
  std::vector<std::uint8_t> payload(size, 7);
  RecordHeader info;
  info.size = size;
  std::vector<std::uint32_t> slots;
  for (int n = 0; n < count; ++n) {
    if (writer.write(info, payload.data(), in_ms(1000)) != WaitStatus::Ok) {
      ADD_FAILURE() << "write " << n;
      break;
    }
    Frame frame;
    if (reader.next(frame, in_ms(1000)) != ReadStatus::Frame) {
      ADD_FAILURE() << "read " << n;
      break;
    }
    slots.push_back(frame.slot);
    reader.release(frame.slot);
  }
  return slots;
}

}  // namespace

// 8 slots of 64 B records: each record goes to the slot after the last one's,
// though every slot before it is free again, so the writer runs ahead of its
// readers on lines they left a lap ago. 8 slots of 64 KiB records (512 KiB,
// past what stays cached): the slot just read is written again, still warm.
TEST_F(RingTest, SmallRecordsTakeTheSlotsInTurnLargeOnesTheWarmestFirst) {
  const std::string small_name = ring("in-turn-small");
  auto small = Writer::create({small_name, 8, 64});
  auto small_reader = Reader::open({small_name, false});
  const std::vector<std::uint32_t> in_turn = slots_read_along(*small, *small_reader, 24, 64);
  ASSERT_EQ(in_turn.size(), 24u);
  for (std::size_t n = 1; n < in_turn.size(); ++n)
    EXPECT_EQ(in_turn[n], (in_turn[n - 1] + 1) % 8) << "record " << n;

  const std::string large_name = ring("in-turn-large");
  auto large = Writer::create({large_name, 8, 64 * 1024});
  auto large_reader = Reader::open({large_name, false});
  const std::vector<std::uint32_t> warm = slots_read_along(*large, *large_reader, 24, 64 * 1024);
  ASSERT_EQ(warm.size(), 24u);
  const std::set<std::uint32_t> used(warm.begin(), warm.end());
  EXPECT_LE(used.size(), 3u) << "large records cycled through the slots";
}

// A blocking reader in another process reads in bursts with pauses: the
// writer fills the ring, waits, and rides its last look at the reader's
// cursor for a lap at a time in between. Nothing unread is overwritten.
TEST_F(RingTest, AReaderInBurstsLosesNothingToAWriterRidingItsLastLook) {
  const std::string name = ring("bursts");
  constexpr std::uint64_t kCount = 20000;
  const pid_t writer = shmring::test::fork_numbered_writer(name, 16, kCount);
  auto reader = shmring::test::open_when_ready({name, false});
  ASSERT_NE(reader, nullptr);
  const auto stream = shmring::test::read_numbered(*reader, [](std::uint64_t value) {
    if (value % 997 == 0)
      usleep(200);  // a burst ends: the ring fills behind it
  });
  EXPECT_EQ(stream.next, kCount);
  EXPECT_EQ(stream.wrong, 0u) << "records skipped or out of order";
  EXPECT_EQ(reader->counters().lost, 0u);
  int status = wait_child(writer, 20000);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << status << " (12: overran the reader)";
}

// A reader that detaches (a source stopping while buffers it lent are still
// downstream) stops counting as a reader at once, though the writer's look
// at the readers' entries, once a lap, was taken while it read.
TEST_F(RingTest, ADetachShowsInTheReadersSignatureAtOnce) {
  const std::string name = ring("detach-seen");
  auto writer = Writer::create({name, 8, 64});
  auto reader = Reader::open({name, false});
  const std::uint64_t nobody = [&] {
    auto probe = Writer::create({ring("detach-seen-empty"), 8, 64});
    return probe->readers_signature();
  }();
  slots_read_along(*writer, *reader, 3, 64);
  const std::uint64_t reading = writer->readers_signature();
  EXPECT_NE(reading, nobody);
  reader->detach();
  // One more record: in turn, from the look taken before the detach.
  ASSERT_EQ(write_value(*writer, 1, 1000), WaitStatus::Ok);
  EXPECT_EQ(writer->readers_signature(), nobody) << "the detached reader still counts";
  EXPECT_TRUE(writer->readers().empty());
}

namespace {

volatile std::sig_atomic_t stop_writing = 0;

// Forks a writer that publishes numbered 64 B records into `slots` slots as
// fast as its readers allow, until SIGTERM.
pid_t fork_nonstop_writer(const std::string &name, std::uint32_t slots) {
  const pid_t child = fork();
  if (child != 0)
    return child;
  std::signal(SIGTERM, [](int) { stop_writing = 1; });
  int code = 0;
  try {
    auto writer = Writer::create({name, slots, 64});
    for (std::uint64_t n = 0; !stop_writing && code == 0; ++n)
      if (write_value(*writer, n, 10000) != WaitStatus::Ok)
        code = 11;
  } catch (const Error &) {
    code = 12;
  }
  _exit(code);
}

}  // namespace

// A blocking reader that joins a writer publishing as fast as it can loses
// nothing from its first record on: the writer, riding its last look at the
// readers for a lap (slots in turn), takes a new one once the reader is
// there, and the reader starts where it is certain to be seen.
TEST_F(RingTest, ABlockingReaderJoiningAFastWriterLosesNothing) {
  for (const std::uint32_t slots : {2u, 8u}) {
    const std::string name = ring("join-fast-" + std::to_string(slots));
    const pid_t writer = fork_nonstop_writer(name, slots);
    for (int trial = 0; trial < 30; ++trial) {
      auto reader = shmring::test::open_when_ready({name, false});
      ASSERT_NE(reader, nullptr);
      // A first read a moment after the join, as a pipeline's would be:
      // the writer goes on meanwhile, up to what this reader holds it to.
      usleep(200);
      std::uint64_t previous = 0, wrong = 0;
      for (int n = 0; n < 200; ++n) {
        Frame frame;
        ASSERT_EQ(reader->next(frame, in_ms(2000)), ReadStatus::Frame) << "trial " << trial;
        const std::uint64_t value = value_in(frame);
        if (frame.lost_before != 0 || (n > 0 && value != previous + 1))
          ++wrong;
        previous = value;
        reader->release(frame.slot);
      }
      EXPECT_EQ(wrong, 0u) << slots << " slots, trial " << trial;
      EXPECT_EQ(reader->counters().lost, 0u) << slots << " slots, trial " << trial;
    }
    kill(writer, SIGTERM);
    int status = wait_child(writer, 10000);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
}

// The race above, held still: the writer's claim has looked at its readers
// (none) and not yet published when a blocking reader joins, which starts
// at the record before. The next claim must see the reader, and not ride
// that look into the slot of the reader's first record.
TEST_F(RingTest, AReaderJoiningBetweenTheWritersLookAndItsPublishIsWaitedFor) {
  const std::string name = ring("join-mid-claim");
  auto writer = Writer::create({name, 2, 64});
  for (std::uint64_t value = 0; value < 2; ++value)
    ASSERT_EQ(write_value(*writer, value, 100), WaitStatus::Ok);
  WritableSlot slot;
  ASSERT_TRUE(writer->try_acquire(slot));  // record 2's claim: it looks at the readers
  auto reader = Reader::open({name, false});
  const std::uint64_t record_2 = 2;
  std::memcpy(slot.data, &record_2, sizeof record_2);
  RecordHeader info;
  info.size = sizeof record_2;
  writer->publish(slot, info);
  EXPECT_FALSE(writer->try_acquire(slot))
      << "took the slot of record 1, which the reader starts at";
  for (std::uint64_t expected = 1; expected <= 2; ++expected) {
    Frame frame;
    ASSERT_EQ(reader->next(frame, in_ms(100)), ReadStatus::Frame);
    EXPECT_EQ(value_in(frame), expected);
    EXPECT_EQ(frame.lost_before, 0u);
    reader->release(frame.slot);
  }
}

// A leaky reader a few records behind, in a ring of many small slots, gets
// the newest record, as it does with large ones: slots are not taken in
// turn while a leaky reader is there, which would keep a lap of old records
// for it to read one by one.
TEST_F(RingTest, ALeakyReaderBehindGetsTheNewestSmallRecord) {
  const std::string name = ring("leaky-newest");
  auto writer = Writer::create({name, 64, 64});
  auto reader = Reader::open({name, true});
  ASSERT_EQ(write_value(*writer, 0, 100), WaitStatus::Ok);
  Frame frame;
  ASSERT_EQ(reader->next(frame, in_ms(100)), ReadStatus::Frame);
  reader->release(frame.slot);
  for (std::uint64_t value = 1; value <= 10; ++value)
    ASSERT_EQ(write_value(*writer, value, 100), WaitStatus::Ok);
  ASSERT_EQ(reader->next(frame, in_ms(100)), ReadStatus::Frame);
  EXPECT_EQ(value_in(frame), 10u) << "an old record, not the newest";
  EXPECT_EQ(frame.lost_before, 9u);
  reader->release(frame.slot);
}
