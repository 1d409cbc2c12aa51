// A stream of numbered records between two real processes: a forked writer
// publishes 0, 1, 2, ... (8 bytes each) and this process reads them back,
// counting every record that is not the next number or follows a loss or a
// resynchronisation.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>

#include "shmring/error.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"
#include "test_support.hpp"

namespace shmring::test {

// Forks a writer of `count` numbered records into a ring of `slots` slots,
// which starts once a reader is there and closes the ring after the last.
// The child exits 0 when every write went through without overrunning a
// reader.
inline pid_t fork_numbered_writer(const std::string &name, std::uint32_t slots,
                                  std::uint64_t count) {
  const pid_t child = fork();
  if (child != 0)
    return child;
  int code = 0;
  try {
    auto writer = Writer::create({name, slots, sizeof(std::uint64_t)});
    if (writer->wait_for_reader(in_ms(10000)) != WaitStatus::Ok)
      _exit(10);
    for (std::uint64_t n = 0; n < count && code == 0; ++n)
      if (write_value(*writer, n, 10000) != WaitStatus::Ok)
        code = 11;
    if (code == 0 && writer->stats().overruns != 0)
      code = 12;
    writer->close();
  } catch (const Error &) {
    code = 13;
  }
  _exit(code);
}

struct NumberedStream {
  std::uint64_t next = 0;   // one past the last number read
  std::uint64_t wrong = 0;  // records out of turn, or after a loss or resync
};

// How read_numbered takes each record: next() alone, or try_next() first
// and next() only when it has nothing (as the source element does).
enum class Take { Next, TryFirst };

// Reads the stream until the writer closes it; `after_each` (the number just
// read) runs after each record is released.
inline NumberedStream read_numbered(Reader &reader,
                                    const std::function<void(std::uint64_t)> &after_each = {},
                                    Take take = Take::Next) {
  NumberedStream stream;
  Frame frame;
  const auto take_one = [&] {
    return (take == Take::TryFirst && reader.try_next(frame)) ||
           reader.next(frame, in_ms(10000)) == ReadStatus::Frame;
  };
  while (take_one()) {
    const std::uint64_t value = value_in(frame);
    if (value != stream.next || frame.lost_before != 0 || frame.resyncs_before != 0)
      ++stream.wrong;
    stream.next = value + 1;
    reader.release(frame.slot);
    if (after_each)
      after_each(value);
  }
  return stream;
}

}  // namespace shmring::test
