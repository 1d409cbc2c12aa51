// The seed's Buffer, BufferWithLocks and Array<T>, between real processes:
// openers that know only the name, a cross-process read/write lock with
// timeouts that dead holders cannot wedge, bounds and type checks.
#include <cstring>
#include <thread>

#include "child_process.hpp"
#include "shmring/error.hpp"
#include "shmring/shared_array.hpp"
#include "shmring/shared_buffer.hpp"
#include "shmring/writer.hpp"

using namespace shmring;
using namespace std::chrono_literals;
using shmring::test::expect_clean_exit;
using shmring::test::kill_child;
using shmring::test::RingTest;
using shmring::test::Signal;
using shmring::test::spawn;

namespace {

struct Settings {
  std::uint32_t width;
  std::uint32_t height;
  double rate;
  char label[20];
};

struct Point {
  double x, y, z;
};

bool throws_code(ErrorCode code, const std::function<void()> &call) {
  try {
    call();
  } catch (const Error &error) {
    return error.code() == code;
  }
  return false;
}

class SharedBufferTest : public RingTest {};

TEST_F(SharedBufferTest, OpenerNeedsOnlyTheName) {
  const std::string name = ring("buffer");
  auto buffer = SharedBuffer::create(name, 12345);
  Settings settings{1920, 1080, 29.97, "from the creator"};
  ASSERT_TRUE(buffer.write(settings, 100));

  Signal done;
  pid_t child = spawn([&] {
    auto view = SharedBuffer::open(name);
    if (view.size() != 12345 || view.is_creator())
      throw std::runtime_error("wrong size or role");
    auto got = view.read<Settings>(100);
    if (got.width != 1920 || got.height != 1080 || got.rate != 29.97 ||
        std::strcmp(got.label, "from the creator") != 0)
      throw std::runtime_error("wrong settings read");
    std::uint64_t reply = 0xfeedface;
    view.write(reply, 12345 - sizeof reply);
  });
  expect_clean_exit(child, 10000);
  EXPECT_EQ(buffer.read<std::uint64_t>(12345 - sizeof(std::uint64_t)), 0xfeedfaceu);
}

TEST_F(SharedBufferTest, RangesKindsAndNamesAreChecked) {
  const std::string name = ring("buffer-checks");
  auto buffer = SharedBuffer::create(name, 64);
  std::uint64_t value = 1;
  EXPECT_TRUE(throws_code(ErrorCode::OutOfRange, [&] { buffer.write(value, 57); }));
  EXPECT_TRUE(throws_code(ErrorCode::OutOfRange, [&] { buffer.read<std::uint64_t>(~0ull); }));
  EXPECT_TRUE(buffer.write(value, 56));
  EXPECT_TRUE(throws_code(ErrorCode::InvalidName, [] { SharedBuffer::create("a/b", 8); }));
  EXPECT_TRUE(
      throws_code(ErrorCode::InvalidArgument, [&] { SharedBuffer::create(name + "0", 0); }));
  EXPECT_TRUE(throws_code(ErrorCode::NotFound, [&] { SharedBuffer::open(name + "-none"); }));
  EXPECT_TRUE(throws_code(ErrorCode::WrongKind, [&] { SharedArray<int>::open(name); }));
  // The creator is alive: a second create is an error, not a silent replacement.
  EXPECT_TRUE(throws_code(ErrorCode::OwnerAlive, [&] { SharedBuffer::create(name, 64); }));

  // A ring of the same namespace is not a buffer, and the reverse.
  const std::string ring_name = ring("buffer-vs-ring");
  auto writer = Writer::create({ring_name, 2, 4096});
  EXPECT_TRUE(throws_code(ErrorCode::WrongKind, [&] { SharedBuffer::open(ring_name); }));
  EXPECT_TRUE(throws_code(ErrorCode::WrongKind, [&] { SharedBuffer::create(ring_name, 64); }));
  // A ring writer does not take the name of a live buffer for debris.
  EXPECT_TRUE(throws_code(ErrorCode::WrongKind, [&] { Writer::create({name, 2, 4096}); }));
  EXPECT_EQ(SharedBuffer::open(name).size(), 64u);
}

TEST_F(SharedBufferTest, DeadCreatorsObjectIsReplaced) {
  const std::string name = ring("buffer-stale");
  Signal created;
  pid_t child = spawn([&] {
    auto buffer = SharedBuffer::create(name, 4096);
    created.send();
    pause();
  });
  ASSERT_EQ(created.receive(10000), 1);
  EXPECT_TRUE(throws_code(ErrorCode::OwnerAlive, [&] { SharedBuffer::create(name, 4096); }));
  kill_child(child);
  auto replacement = SharedBuffer::create(name, 8192);
  EXPECT_EQ(SharedBuffer::open(name).size(), 8192u);
}

TEST_F(SharedBufferTest, WriteLockExcludesOtherProcessesUntilReleased) {
  const std::string name = ring("rwlock");
  auto buffer = SharedBuffer::create(name, 64);
  Signal locked, release, released;
  pid_t child = spawn([&] {
    auto view = SharedBuffer::open(name);
    if (!view.lock_write(1s))
      throw std::runtime_error("child could not lock");
    locked.send();
    release.receive(10000);
    view.unlock_write();
    released.send();
  });
  ASSERT_EQ(locked.receive(10000), 1);
  EXPECT_FALSE(buffer.lock_read(100ms));
  EXPECT_FALSE(buffer.lock_write(kNoWait));
  std::uint64_t value = 7;
  EXPECT_FALSE(buffer.write(value, 0, 50ms));
  release.send();
  ASSERT_EQ(released.receive(10000), 1);
  EXPECT_TRUE(buffer.lock_read(1s));
  buffer.unlock_read();
  expect_clean_exit(child, 10000);
}

TEST_F(SharedBufferTest, ReadersShareAndHoldTheWriterOff) {
  const std::string name = ring("rwlock-shared");
  auto buffer = SharedBuffer::create(name, 64);
  Signal locked, release;
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    children.push_back(spawn([&] {
      auto view = SharedBuffer::open(name);
      ReadLock lock(view, 2s);
      if (!lock.owns())
        throw std::runtime_error("reader could not lock");
      locked.send();
      release.receive(10000);
    }));
  }
  // Both readers hold the lock at the same time.
  ASSERT_EQ(locked.receive(10000), 1);
  ASSERT_EQ(locked.receive(10000), 1);
  EXPECT_TRUE(buffer.lock_read(100ms));  // a third reader joins them
  buffer.unlock_read();
  EXPECT_FALSE(buffer.lock_write(100ms));
  release.send();
  release.send();
  for (pid_t child : children)
    expect_clean_exit(child, 10000);
  EXPECT_TRUE(buffer.lock_write(1s));
  buffer.unlock_write();
}

TEST_F(SharedBufferTest, DeadHolderCannotWedgeTheLock) {
  const std::string name = ring("rwlock-dead");
  auto buffer = SharedBuffer::create(name, 64);
  for (bool as_writer : {true, false}) {
    Signal locked;
    pid_t child = spawn([&] {
      auto view = SharedBuffer::open(name);
      if (as_writer ? !view.lock_write(1s) : !view.lock_read(1s))
        throw std::runtime_error("child could not lock");
      locked.send();
      pause();  // holds it until killed
    });
    ASSERT_EQ(locked.receive(10000), 1);
    EXPECT_FALSE(buffer.lock_write(100ms)) << "as_writer=" << as_writer;
    kill_child(child);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(buffer.lock_write(5s)) << "as_writer=" << as_writer;
    buffer.unlock_write();
    // Within a few liveness slices, not at the end of the timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  }
}

// Two processes update a pair of counters under the write lock while a third
// reads it under the read lock: the pair is never seen torn, no update is lost.
TEST_F(SharedBufferTest, LockedUpdatesFromSeveralProcessesStayConsistent) {
  const std::string name = ring("rwlock-counter");
  auto buffer = SharedBuffer::create(name, 2 * sizeof(std::uint64_t));
  constexpr int kIncrements = 3000;
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    children.push_back(spawn([&] {
      auto view = SharedBuffer::open(name);
      auto *pair = reinterpret_cast<volatile std::uint64_t *>(view.data());
      for (int n = 0; n < kIncrements; ++n) {
        WriteLock lock(view);
        pair[0] = pair[0] + 1;
        std::this_thread::yield();  // widen the window a torn read would need
        pair[1] = pair[1] + 1;
      }
    }));
  }
  children.push_back(spawn([&] {
    auto view = SharedBuffer::open(name);
    std::uint64_t last = 0;
    while (last < 2 * kIncrements) {
      std::uint64_t pair[2];
      view.read(pair, sizeof pair);
      if (pair[0] != pair[1] || pair[0] < last)
        throw std::runtime_error("torn or backwards read");
      last = pair[0];
    }
  }));
  for (pid_t child : children)
    expect_clean_exit(child, 60000);
  std::uint64_t pair[2];
  buffer.read(pair, sizeof pair);
  EXPECT_EQ(pair[0], 2u * kIncrements);
  EXPECT_EQ(pair[1], 2u * kIncrements);
}

TEST_F(SharedBufferTest, ArrayIsBoundsAndTypeChecked) {
  const std::string name = ring("array");
  auto points = SharedArray<Point>::create(name, 10);
  for (std::size_t i = 0; i < points.size(); ++i)
    points.set(i, Point{double(i), double(i) * 2, -1});

  pid_t child = spawn([&] {
    auto view = SharedArray<Point>::open(name);
    if (view.size() != 10)
      throw std::runtime_error("wrong length");
    Point all[10];
    view.read(all, 10);
    for (int i = 0; i < 10; ++i) {
      if (all[i].x != i || all[i].y != 2 * i)
        throw std::runtime_error("wrong element");
    }
    view.set(9, Point{99, 98, 97});
    bool refused = false;
    try {
      view.at(10);
    } catch (const Error &error) {
      refused = error.code() == ErrorCode::OutOfRange;
    }
    if (!refused)
      throw std::runtime_error("at(10) was not refused");
  });
  expect_clean_exit(child, 10000);
  EXPECT_EQ(points.at(9).x, 99);
  Point three[3] = {};
  EXPECT_TRUE(throws_code(ErrorCode::OutOfRange, [&] { points.read(three, 3, 8); }));
  EXPECT_TRUE(throws_code(ErrorCode::OutOfRange, [&] { points.write(three, 1, 10); }));
  EXPECT_TRUE(throws_code(ErrorCode::TypeMismatch, [&] { SharedArray<float>::open(name); }));
  EXPECT_TRUE(throws_code(ErrorCode::WrongKind, [&] { SharedBuffer::open(name); }));
}

}  // namespace

TEST_F(SharedBufferTest, AForkedChildDroppingItsCopyKeepsTheParentsObject) {
  const std::string name = ring("buffer-fork-copy");
  auto buffer = std::make_unique<SharedBuffer>(SharedBuffer::create(name, 64));
  ASSERT_TRUE(buffer->lock_write());
  pid_t child = fork();
  if (child == 0) {
    buffer.reset();  // drops the inherited creator's handle
    _exit(0);
  }
  ASSERT_TRUE(WIFEXITED(shmring::test::wait_child(child, 5000)));
  EXPECT_TRUE(shmring::test::ring_exists(name));
  EXPECT_TRUE(throws_code(ErrorCode::OwnerAlive, [&] { SharedBuffer::create(name, 64); }));
  auto other = SharedBuffer::open(name);
  EXPECT_FALSE(other.lock_read(std::chrono::milliseconds(200))) << "the write lock is still held";
  buffer->unlock_write();
}
