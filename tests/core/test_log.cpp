// The core's log: silent without a handler, and with one it tells of
// objects created and of a leaky reader that fell behind.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shmring/log.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"
#include "test_support.hpp"

using namespace shmring;
using shmring::test::in_ms;
using shmring::test::RingTest;

namespace {

std::vector<std::pair<LogLevel, std::string>> heard;

void listen(LogLevel level, const char *message, void *) { heard.emplace_back(level, message); }

bool heard_of(LogLevel level, const std::string &text) {
  for (const auto &[at, message] : heard)
    if (at == level && message.find(text) != std::string::npos)
      return true;
  return false;
}

TEST_F(RingTest, TheLogTellsOfCreationAndLossOnlyToAHandler) {
  heard.clear();
  const std::string silent = ring("log-silent");
  Writer::create({silent, 2, 64});
  EXPECT_TRUE(heard.empty()) << "no handler, no message";

  set_log_handler(listen, nullptr, LogLevel::Debug);
  const std::string name = ring("log");
  auto writer = Writer::create({name, 4, 64});
  EXPECT_TRUE(heard_of(LogLevel::Info, "ring '" + name + "' created: 4 slots of 64 bytes"));
  auto reader = Reader::open({name, true});
  RecordHeader record;
  record.size = 8;
  std::uint64_t value = 0;
  Frame frame;
  ASSERT_EQ(writer->write(record, &value, in_ms(1000)), WaitStatus::Ok);
  ASSERT_EQ(reader->next(frame, in_ms(1000)), ReadStatus::Frame);
  reader->release(frame.slot);
  // The writer laps the leaky reader; its next read skips to the newest.
  for (value = 1; value < 12; ++value)
    ASSERT_EQ(writer->write(record, &value, in_ms(1000)), WaitStatus::Ok);
  ASSERT_EQ(reader->next(frame, in_ms(1000)), ReadStatus::Frame);
  reader->release(frame.slot);
  EXPECT_TRUE(heard_of(LogLevel::Debug, "fell behind, skipped"));

  // Above its level, a message is not even formatted, let alone delivered.
  heard.clear();
  set_log_handler(listen, nullptr, LogLevel::Warning);
  Writer::create({ring("log-quiet"), 2, 64});
  EXPECT_TRUE(heard.empty());
  set_log_handler(nullptr, nullptr);
}

}  // namespace
