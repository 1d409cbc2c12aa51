// Helpers shared by the core tests: unique ring names and a check that no
// shared memory object outlives its test.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "shmring/error.hpp"
#include "shmring/object_name.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"

namespace shmring::test {

inline std::string unique_ring_name(const std::string &what) {
  return "test-" + what + "-" + std::to_string(getpid());
}

inline bool ring_exists(const std::string &name) {
  return access(("/dev/shm/shmring." + name).c_str(), F_OK) == 0;
}

inline std::chrono::steady_clock::time_point in_ms(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

// An 8-byte record holding `value`, as most tests write them.
inline WaitStatus write_value(Writer &writer, std::uint64_t value, int within_ms) {
  RecordHeader info;
  info.size = sizeof value;
  return writer.write(info, &value, in_ms(within_ms));
}

// What such a record holds.
inline std::uint64_t value_in(const Frame &frame) {
  std::uint64_t value = 0;
  std::memcpy(&value, frame.data, sizeof value);
  return value;
}

// A reader of `options.name`, opened once its writer (another process,
// perhaps not started yet) has made the ring; nullptr if it has not within
// `timeout_ms`. Errors other than "not there yet" are thrown.
inline std::shared_ptr<Reader> open_when_ready(const ReaderOptions &options,
                                               int timeout_ms = 10000) {
  const auto give_up = in_ms(timeout_ms);
  for (;;) {
    try {
      return Reader::open(options);
    } catch (const Error &error) {
      if (error.code() != ErrorCode::NotFound && error.code() != ErrorCode::NotReady)
        throw;
      if (std::chrono::steady_clock::now() > give_up)
        return nullptr;
      usleep(1000);
    }
  }
}

// Deterministic payload for frame `n`: the reader recomputes it to check.
inline std::uint8_t pattern_byte(std::uint64_t frame, std::uint64_t i) {
  return static_cast<std::uint8_t>((frame * 131 + i * 7 + (i >> 9)) & 0xff);
}

inline std::uint64_t fnv1a(const void *data, std::size_t size) {
  const auto *bytes = static_cast<const std::uint8_t *>(data);
  std::uint64_t hash = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

// Waits for a child with a bound; kills it if it overstays. Returns its
// exit status as waitpid reports it.
inline int wait_child(pid_t child, int timeout_ms) {
  const auto end = in_ms(timeout_ms);
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      ADD_FAILURE() << "child " << child << " overstayed " << timeout_ms << " ms";
      return status;
    }
    usleep(1000);
  }
  return status;
}

// Every test leaves /dev/shm as it found it, even when it fails.
class RingTest : public ::testing::Test {
 protected:
  std::string ring(const std::string &what) {
    std::string name = unique_ring_name(what);
    names_.push_back(name);
    return name;
  }
  void TearDown() override {
    for (const auto &name : names_) {
      EXPECT_FALSE(ring_exists(name)) << "ring " << name << " left behind";
      shm_unlink(("/shmring." + name).c_str());
    }
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace shmring::test
