// Creating, opening and refusing rings: the header is checked before anything
// in it is used, and a name is never silently taken from a live writer.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "kind_traits.hpp"
#include "named_object.hpp"
#include "ring_layout.hpp"
#include "shmring/error.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"
#include "test_support.hpp"

using namespace shmring;
using shmring::test::RingTest;

namespace {

ErrorCode open_error(const std::string &name, std::string *message = nullptr) {
  try {
    Reader::open({name, false});
  } catch (const Error &error) {
    if (message)
      *message = error.what();
    return error.code();
  }
  ADD_FAILURE() << "opened " << name;
  return ErrorCode::System;
}

// Writes raw bytes as the object of ring `name`.
void write_object(const std::string &name, const void *bytes, std::size_t size) {
  int fd = shm_open(("/shmring." + name).c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(pwrite(fd, bytes, size, 0), static_cast<ssize_t>(size));
  close(fd);
}

// A copy of a real ring's bytes, to corrupt one field at a time.
std::vector<std::byte> image_of_ring(const std::string &name) {
  auto writer = Writer::create({name, 4, 4096});
  int fd = shm_open(("/shmring." + name).c_str(), O_RDONLY, 0);
  struct stat st;
  fstat(fd, &st);
  std::vector<std::byte> image(static_cast<std::size_t>(st.st_size));
  EXPECT_EQ(pread(fd, image.data(), image.size(), 0), static_cast<ssize_t>(image.size()));
  close(fd);
  return image;
}

object::ObjectHeader &header_of(std::vector<std::byte> &image) {
  return *reinterpret_cast<object::ObjectHeader *>(image.data());
}

}  // namespace

TEST_F(RingTest, OpenFindsTheGeometryTheWriterChose) {
  const std::string name = ring("geometry");
  auto writer = Writer::create({name, 6, 100000});
  EXPECT_TRUE(shmring::test::ring_exists(name));
  auto reader = Reader::open({name, false});
  EXPECT_EQ(reader->slot_count(), 6u);
  EXPECT_EQ(reader->slot_size(), 100000u);
  EXPECT_EQ(reader->writer_pid(), getpid());
  EXPECT_TRUE(reader->writer_alive());
  EXPECT_EQ(writer->readers().size(), 1u);
  writer->close();
  EXPECT_FALSE(shmring::test::ring_exists(name)) << "close() unlinks the name";
}

TEST_F(RingTest, ObjectIsCreatedWithTheRequestedMode) {
  const std::string name = ring("mode");
  for (mode_t mode : {0600, 0640, 0666}) {
    auto writer = Writer::create({name, 2, 64, mode});
    struct stat st;
    ASSERT_EQ(stat(("/dev/shm/shmring." + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, mode);
  }
}

TEST_F(RingTest, MissingRingIsNotFound) {
  EXPECT_EQ(open_error(ring("missing")), ErrorCode::NotFound);
}

TEST_F(RingTest, InvalidGeometryIsRefused) {
  const std::string name = ring("bad-geometry");
  for (auto [slots, size] : {std::pair<std::uint32_t, std::uint64_t>{1, 64},
                             {2, 0},
                             {100000, 64},
                             {2, std::uint64_t{1} << 40}}) {
    try {
      Writer::create({name, slots, size});
      ADD_FAILURE() << slots << " x " << size << " accepted";
    } catch (const Error &error) {
      EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
    }
  }
}

TEST_F(RingTest, PermsThatShutOutTheOwnerAreRefusedAndLeaveNothing) {
  const std::string name = ring("owner-shut-out");
  for (mode_t perms : {mode_t{0}, mode_t{0200}, mode_t{0400}, mode_t{0044}, mode_t{01600}}) {
    try {
      Writer::create({name, 2, 64, perms});
      ADD_FAILURE() << std::oct << perms << " accepted";
    } catch (const Error &error) {
      EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
      EXPECT_NE(std::string(error.what()).find("read and write (0600)"), std::string::npos)
          << error.what();
    }
    EXPECT_EQ(open_error(name), ErrorCode::NotFound) << "nothing left under the name";
  }
  EXPECT_NO_THROW(Writer::create({name, 2, 64, 0640}));
}

TEST_F(RingTest, SecondWriterOnALiveRingIsAnError) {
  const std::string name = ring("second-writer");
  auto first = Writer::create({name, 2, 64});
  try {
    Writer::create({name, 2, 64});
    ADD_FAILURE() << "second writer accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::OwnerAlive);
    EXPECT_NE(std::string(error.what()).find(std::to_string(getpid())), std::string::npos)
        << error.what();
  }
}

TEST_F(RingTest, StaleRingOfADeadWriterIsReplaced) {
  const std::string name = ring("stale");
  // A child creates the ring and dies without closing it.
  pid_t child = fork();
  if (child == 0) {
    auto writer = Writer::create({name, 2, 64});
    _exit(0);  // no destructor: the object stays behind, as after a crash
  }
  int status = shmring::test::wait_child(child, 5000);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_TRUE(shmring::test::ring_exists(name));
  auto reader = Reader::open({name, false});
  EXPECT_FALSE(reader->writer_alive());
  auto writer = Writer::create({name, 3, 128});  // replaces it under the same name
  auto fresh = Reader::open({name, false});
  EXPECT_EQ(fresh->slot_count(), 3u);
  EXPECT_EQ(fresh->writer_pid(), getpid());
}

TEST_F(RingTest, CorruptHeadersAreRefusedWithAReason) {
  const std::string name = ring("corrupt");
  const std::vector<std::byte> good = image_of_ring(name);

  using Header = object::ObjectHeader;
  // Each check of the header on its own: the damage is refused with the
  // error code and the reason of that very check (a later check catching it
  // instead would name another field).
  struct Case {
    const char *what;
    void (*damage)(Header &);
    ErrorCode expected;
    const char *reason;
  };
  const Case cases[] = {
      {"magic", [](Header &h) { h.magic ^= 1; }, ErrorCode::Corrupt, "bad magic"},
      {"version", [](Header &h) { h.abi_version = 99; }, ErrorCode::VersionMismatch,
       "ABI version 99"},
      {"header size", [](Header &h) { h.header_size = 8; }, ErrorCode::Corrupt, "header size is 8"},
      {"kind", [](Header &h) { h.kind = 77; }, ErrorCode::VersionMismatch, "kind 77 is unknown"},
      {"kind version", [](Header &h) { h.kind_version += 1; }, ErrorCode::VersionMismatch,
       "layout version"},
      {"slot count 0", [](Header &h) { h.params.value[ring::kSlotCount] = 0; }, ErrorCode::Corrupt,
       "out of range"},
      {"slot count 1", [](Header &h) { h.params.value[ring::kSlotCount] = ring::kMinSlots - 1; },
       ErrorCode::Corrupt, "out of range"},
      {"slot count too many",
       [](Header &h) { h.params.value[ring::kSlotCount] = ring::kMaxSlots + 1; },
       ErrorCode::Corrupt, "out of range"},
      {"slot size 0", [](Header &h) { h.params.value[ring::kSlotSize] = 0; }, ErrorCode::Corrupt,
       "out of range"},
      // Past the largest slot, though the whole would still be a size the
      // object layer accepts.
      {"slot size", [](Header &h) { h.params.value[ring::kSlotSize] = ring::kMaxSlotSize + 1; },
       ErrorCode::Corrupt, "out of range"},
      {"user area", [](Header &h) { h.params.value[ring::kUserSize] = kMaxUserArea + 1; },
       ErrorCode::Corrupt, "out of range"},
      // A schema version that only matches once cut to 32 bits.
      {"user version",
       [](Header &h) { h.params.value[ring::kUserVersion] += std::uint64_t{1} << 32; },
       ErrorCode::Corrupt, "out of range"},
      {"total size", [](Header &h) { h.total_size += 4096; }, ErrorCode::Corrupt, "disagree"},
      {"control offset", [](Header &h) { h.control_offset += 64; }, ErrorCode::Corrupt, "disagree"},
      {"control size", [](Header &h) { h.control_size += 64; }, ErrorCode::Corrupt, "disagree"},
      {"control size smaller", [](Header &h) { h.control_size -= 64; }, ErrorCode::Corrupt,
       "disagree"},
      {"payload offset", [](Header &h) { h.payload_offset += 4096; }, ErrorCode::Corrupt,
       "disagree"},
      {"participants", [](Header &h) { h.max_participants = 1000; }, ErrorCode::Corrupt,
       "participant table holds 1000"},
      {"ready", [](Header &h) { h.ready.store(7); }, ErrorCode::Corrupt, "ready word holds 7"},
      {"not ready", [](Header &h) { h.ready.store(0); }, ErrorCode::NotReady, ""},
  };
  for (const Case &c : cases) {
    std::vector<std::byte> image = good;
    c.damage(header_of(image));
    write_object(name, image.data(), image.size());
    std::string message;
    EXPECT_EQ(open_error(name, &message), c.expected) << c.what;
    EXPECT_NE(message.find(c.reason), std::string::npos) << c.what << ": " << message;
  }

  // Bigger slots than the object holds: the size check catches it.
  std::vector<std::byte> image = good;
  object::ObjectHeader &h = header_of(image);
  h.params.value[ring::kSlotSize] = 1 << 20;
  object::Layout layout;
  ASSERT_TRUE(object::compute_layout(*object::traits_of(ObjectKind::Ring), h.params, layout));
  h.control_offset = layout.control_offset;
  h.control_size = layout.control_size;
  h.payload_offset = layout.payload_offset;
  h.total_size = layout.total_size;
  write_object(name, image.data(), image.size());
  std::string message;
  EXPECT_EQ(open_error(name, &message), ErrorCode::Corrupt) << "header larger than object";
  EXPECT_NE(message.find("bytes but the object has"), std::string::npos) << message;

  // Too short to hold a header; and zero bytes (a writer mid-creation).
  write_object(name, good.data(), 100);
  EXPECT_EQ(open_error(name), ErrorCode::Corrupt);
  write_object(name, good.data(), 0);
  EXPECT_EQ(open_error(name), ErrorCode::NotReady);
  shm_unlink(("/shmring." + name).c_str());
}

TEST_F(RingTest, WriterRefusesToTakeARingOfAnotherVersion) {
  const std::string name = ring("other-version");
  std::vector<std::byte> image = image_of_ring(name);
  header_of(image).abi_version = object::kAbiVersion + 1;
  write_object(name, image.data(), image.size());
  try {
    Writer::create({name, 2, 64});
    ADD_FAILURE() << "took over another version's ring";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::VersionMismatch);
  }
  shm_unlink(("/shmring." + name).c_str());
}

TEST_F(RingTest, GarbageObjectIsReplacedByAWriter) {
  const std::string name = ring("garbage");
  std::vector<char> junk(8192, 'x');
  write_object(name, junk.data(), junk.size());
  EXPECT_EQ(open_error(name), ErrorCode::Corrupt);
  auto writer = Writer::create({name, 2, 64});
  EXPECT_EQ(Reader::open({name, false})->slot_count(), 2u);
}

// A writer SIGKILLed in the instant after it created the name, before its
// owner lock: an empty object nobody will finish. A reader passing by leaves
// it while it may still be a creator at work, then removes it (`shmring
// clean` too: tests/multiprocess/test_cli.py).
TEST_F(RingTest, AHalfCreatedObjectWhoseCreatorDiedIsRemovedByAReader) {
  const std::string name = ring("half-created");
  const std::string path = "/dev/shm/shmring." + name;
  write_object(name, nullptr, 0);
  EXPECT_EQ(open_error(name), ErrorCode::NotReady) << "a creator may be about to lock it";
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the grace
  std::string message;
  EXPECT_EQ(open_error(name, &message), ErrorCode::NotFound);
  EXPECT_NE(message.find("creator died"), std::string::npos) << message;
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "left behind";
}

// Removal of an object judged ownerless holds the owner byte itself until
// the name is gone: a creator that takes its lock first keeps its object.
TEST_F(RingTest, AnObjectWhoseOwnerHoldsItsLockIsNeverRemovedAsOwnerless) {
  const std::string name = ring("owner-came");
  const std::string path = "/dev/shm/shmring." + name;
  write_object(name, nullptr, 0);
  const ShmObject creator = ShmObject::open_existing(shm_path_for(name));
  ASSERT_TRUE(creator.hold_byte(object::kOwnerLockByte));
  const ShmObject remover = ShmObject::open_existing(shm_path_for(name));
  EXPECT_FALSE(object::remove_ownerless(remover));
  EXPECT_EQ(access(path.c_str(), F_OK), 0) << "removed under its owner";
  creator.release_byte(object::kOwnerLockByte);
  EXPECT_TRUE(object::remove_ownerless(remover));
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST_F(RingTest, RecordLargerThanASlotIsRefused) {
  const std::string name = ring("too-large");
  auto writer = Writer::create({name, 2, 1000});
  std::vector<char> payload(1001);
  RecordHeader info;
  info.size = payload.size();
  try {
    writer->write(info, payload.data(), shmring::test::in_ms(100));
    ADD_FAILURE() << "oversized record accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidArgument);
  }
}

TEST_F(RingTest, ReaderOfAnotherRecordSchemaIsToldOtherVersion) {
  const std::string name = ring("schema");
  auto writer = Writer::create({name, 2, 64, 0600, UserSchema{3, 40}});
  for (UserSchema other : {UserSchema{}, UserSchema{4, 40}, UserSchema{3, 48}}) {
    try {
      Reader::open({name, false, other});
      ADD_FAILURE() << "opened with schema " << other.version << "/" << other.size;
    } catch (const Error &error) {
      EXPECT_EQ(error.code(), ErrorCode::VersionMismatch);
      EXPECT_NE(std::string(error.what()).find("other version"), std::string::npos);
    }
  }
  EXPECT_EQ(Reader::open({name, false, UserSchema{3, 40}})->slot_count(), 2u);
}

TEST_F(RingTest, ObjectOfTheOldRegionFormatIsOtherVersionNotCorrupt) {
  const std::string name = ring("legacy");
  std::vector<std::byte> image = image_of_ring(name);
  header_of(image).magic = object::kLegacyRegionMagic;
  write_object(name, image.data(), image.size());
  EXPECT_EQ(open_error(name), ErrorCode::VersionMismatch);
  shm_unlink(("/shmring." + name).c_str());
}

TEST_F(RingTest, RingOfAnotherUserIsPermissionDenied) {
  const std::string name = ring("other-user");
  auto writer = Writer::create({name, 2, 64, 0600});
  // Another user: as root, a child that becomes nobody; otherwise a ring
  // whose mode shuts out even its owner.
  pid_t child = fork();
  if (child == 0) {
    if (geteuid() == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0)
        _exit(3);
    } else if (chmod(("/dev/shm/shmring." + name).c_str(), 0) != 0) {
      _exit(4);
    }
    try {
      Reader::open({name, false});
    } catch (const Error &error) {
      _exit(error.code() == ErrorCode::PermissionDenied &&
                    std::string(error.what()).find("Permission denied") != std::string::npos
                ? 0
                : 1);
    }
    _exit(2);  // opened: the mode did not protect the ring
  }
  int status = shmring::test::wait_child(child, 5000);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: other error, 2: opened, 3/4: setup failed";
}

TEST_F(RingTest, AForkedChildDroppingItsCopyChangesNothingShared) {
  const std::string name = ring("fork-copy");
  auto writer = Writer::create({name, 2, 64});
  auto reader = Reader::open({name, false});
  pid_t child = fork();
  if (child == 0) {
    // The child inherited both handles; it drops them, as a child that
    // goes on to do something else would.
    reader.reset();
    writer.reset();
    _exit(0);
  }
  ASSERT_TRUE(WIFEXITED(shmring::test::wait_child(child, 5000)));
  EXPECT_TRUE(shmring::test::ring_exists(name)) << "the name is still the parent's";
  EXPECT_TRUE(reader->writer_alive()) << "the parent's owner lock is held";
  EXPECT_EQ(writer->readers().size(), 1u) << "the parent's reader is still joined";
  try {
    Writer::create({name, 2, 64});
    ADD_FAILURE() << "a second writer took the parent's live ring";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::OwnerAlive);
  }
}

TEST_F(RingTest, AReaderThatJoinedALiveWriterKeepsItsRecordsAfterTheWriterCloses) {
  const std::string name = ring("joined-live");
  auto writer = Writer::create({name, 4, 64});
  auto reader = Reader::open({name, false});
  RecordHeader record;
  record.size = 8;
  std::uint64_t value = 7;
  ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(100)), WaitStatus::Ok);
  writer->close();  // the writer finishes before the reader looks again
  EXPECT_TRUE(reader->writer_closed());
  EXPECT_TRUE(reader->joined_live_writer()) << "decided at the join, not now";
  Frame frame;
  ASSERT_EQ(reader->next(frame, shmring::test::in_ms(100)), ReadStatus::Frame);
  reader->release(frame.slot);
  EXPECT_EQ(reader->next(frame, shmring::test::in_ms(100)), ReadStatus::WriterClosed);
}

TEST_F(RingTest, AnotherUserReadsARingSharedReadOnlyWithoutWritingIt) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root, to read as another user (nobody)";
  const std::string name = ring("read-only");
  auto writer = Writer::create({name, 4, 64, 0644});
  pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(10);
    try {
      auto reader = Reader::open({name, false});  // block asked, leaky had
      if (!reader->read_only())
        _exit(11);
      for (std::uint64_t want = 1; want <= 3; ++want) {
        Frame frame;
        if (reader->next(frame, shmring::test::in_ms(5000)) != ReadStatus::Frame)
          _exit(12);
        const std::uint64_t value = shmring::test::value_in(frame);
        reader->release(frame.slot);
        if (value != want)
          _exit(13);
      }
    } catch (const Error &) {
      _exit(14);
    }
    _exit(0);
  }
  // The read-only reader is present by its lock: the writer sees it join.
  ASSERT_EQ(writer->wait_for_reader(shmring::test::in_ms(5000)), WaitStatus::Ok);
  EXPECT_TRUE(writer->readers().empty()) << "it takes no participant entry";
  RecordHeader record;
  record.size = 8;
  for (std::uint64_t value = 1; value <= 3; ++value) {
    ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(1000)), WaitStatus::Ok);
    usleep(20000);  // a leaky reader: let it keep up
  }
  const int status = shmring::test::wait_child(child, 10000);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: setuid, 11: not read-only, 12: no frame, 13: wrong frame, 14: error";
}

// A read-only reader holds the slot it reads by a lock the writer honours:
// while it holds frame 1 in a ring of two slots, the writer turns on the
// other slot and frame 1 stays intact. (A hold the writer ignored would be
// overwritten at the second write.) The writer overrides a hold older than
// 50 ms, so a round in which this test was descheduled that long may see it
// overwritten: up to three rounds, one must keep it.
TEST_F(RingTest, AReadOnlyReadersHoldKeepsItsFrameIntact) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root, to read as another user (nobody)";
  int rounds_kept = 0;
  for (int round = 0; round < 3 && rounds_kept == 0; ++round) {
    const std::string name = ring("read-only-hold");
    auto writer = Writer::create({name, 2, 64, 0644});
    int to_parent[2], to_child[2];
    ASSERT_EQ(pipe(to_parent), 0);
    ASSERT_EQ(pipe(to_child), 0);
    pid_t child = fork();
    if (child == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0)
        _exit(10);
      try {
        auto reader = Reader::open({name, true});
        Frame frame;
        if (reader->next(frame, shmring::test::in_ms(5000)) != ReadStatus::Frame)
          _exit(12);
        char go = 'h';
        if (write(to_parent[1], &go, 1) != 1 || read(to_child[0], &go, 1) != 1)
          _exit(13);
        const bool kept = reader->intact(frame) && shmring::test::value_in(frame) == 1;
        reader->release(frame.slot);
        _exit(kept ? 0 : 15);
      } catch (const Error &) {
        _exit(14);
      }
    }
    close(to_parent[1]);
    close(to_child[0]);
    ASSERT_EQ(writer->wait_for_reader(shmring::test::in_ms(5000)), WaitStatus::Ok);
    usleep(20000);  // the reader waits 12 ms after it shows itself before it holds
    RecordHeader record;
    record.size = 8;
    std::uint64_t value = 1;
    ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(1000)), WaitStatus::Ok);
    char got = 0;
    ASSERT_EQ(read(to_parent[0], &got, 1), 1) << "the reader got no frame";
    for (value = 2; value <= 3; ++value)
      ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(1000)), WaitStatus::Ok);
    ASSERT_EQ(write(to_child[1], &got, 1), 1);
    const int status = shmring::test::wait_child(child, 10000);
    close(to_parent[0]);
    close(to_child[1]);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 15)
        << "10: setuid, 12: no frame, 13: pipe, 14: error; got " << WEXITSTATUS(status);
    if (WEXITSTATUS(status) == 0)
      ++rounds_kept;
  }
  EXPECT_EQ(rounds_kept, 1) << "the writer overwrote a frame a read-only reader held";
}

TEST_F(RingTest, ASymlinkUnderTheNameIsNeverFollowed) {
  const std::string name = ring("symlink");
  const std::string target = "/tmp/shmring-symlink-target-" + std::to_string(getpid());
  {
    FILE *file = std::fopen(target.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("not yours", file);
    std::fclose(file);
  }
  ASSERT_EQ(symlink(target.c_str(), ("/dev/shm/shmring." + name).c_str()), 0);
  EXPECT_NE(open_error(name), ErrorCode::NotFound) << "refused, not followed";
  try {
    Writer::create({name, 2, 64});
    ADD_FAILURE() << "a writer created through a symlink";
  } catch (const Error &) {
  }
  struct stat st;
  EXPECT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 9) << "the target is untouched";
  unlink(("/dev/shm/shmring." + name).c_str());
  unlink(target.c_str());
}

TEST_F(RingTest, GarbageInTheParticipantTableIsNoHang) {
  const std::string name = ring("garbage-table");
  auto writer = Writer::create({name, 4, 64});
  auto reader = Reader::open({name, false});
  // Another process writes random bytes over header bytes 128..256: the
  // first two participant entries, this reader's among them.
  {
    const int fd = shm_open(("/shmring." + name).c_str(), O_RDWR, 0);
    ASSERT_GE(fd, 0);
    std::uint8_t junk[128];
    for (std::size_t i = 0; i < sizeof junk; ++i)
      junk[i] = static_cast<std::uint8_t>(i * 73 + 19);
    ASSERT_EQ(pwrite(fd, junk, sizeof junk, 128), static_cast<ssize_t>(sizeof junk));
    close(fd);
  }
  RecordHeader record;
  record.size = 8;
  for (std::uint64_t value = 1; value <= 3; ++value) {
    ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(1000)), WaitStatus::Ok);
    Frame frame;
    ASSERT_EQ(reader->next(frame, shmring::test::in_ms(1000)), ReadStatus::Frame)
        << "the reader goes on reading";
    reader->release(frame.slot);
  }
  writer->reclaim_dead_readers();           // the writer's sweep survives the garbage too
  auto late = Reader::open({name, false});  // and a newcomer still finds an entry
  EXPECT_EQ(writer->stats().published, 3u);
}

namespace {

// What a user with read access only can do: open the ring read-only and
// take shared locks on any bytes. Released when the returned fd is closed.
int shared_locks(const std::string &name, std::uint64_t from, std::uint64_t count) {
  const int fd = shm_open(("/shmring." + name).c_str(), O_RDONLY, 0);
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(from);
  lock.l_len = static_cast<off_t>(count);
  EXPECT_EQ(fcntl(fd, F_OFD_SETLK, &lock), 0);
  return fd;
}

}  // namespace

TEST_F(RingTest, ASharedLockCannotMakeADeadWriterLookAlive) {
  const std::string name = ring("fake-owner");
  pid_t child = fork();
  if (child == 0) {
    auto writer = Writer::create({name, 2, 64});
    _exit(0);
  }
  ASSERT_TRUE(WIFEXITED(shmring::test::wait_child(child, 5000)));
  const int hostile = shared_locks(name, object::kOwnerLockByte, 1);
  EXPECT_FALSE(Reader::open({name, false})->writer_alive());
  auto writer = Writer::create({name, 2, 64});  // the dead writer's ring is replaced
  EXPECT_EQ(Reader::open({name, false})->writer_pid(), getpid());
  close(hostile);
}

TEST_F(RingTest, SharedLocksOnParticipantBytesLeakNoEntries) {
  const std::string name = ring("blocked-joins");
  auto writer = Writer::create({name, 2, 64});
  int hostile = shared_locks(name, object::participant_lock_byte(0), object::kMaxParticipants);
  try {
    Reader::open({name, false});
    ADD_FAILURE() << "joined where every entry's byte is locked";
  } catch (const Error &error) {
    EXPECT_EQ(error.code(), ErrorCode::HandlesFull);
  }
  close(hostile);
  // Every entry was given back: joins work again at once.
  auto reader = Reader::open({name, false});
  EXPECT_EQ(writer->readers().size(), 1u);
}

TEST_F(RingTest, SharedLocksOnSlotsHoldTheWriterBackOnlyBriefly) {
  const std::string name = ring("pinned-slots");
  auto writer = Writer::create({name, 4, 64, 0644});
  // "A read-only reader" present, holding every slot, for ever.
  const int hostile = shared_locks(name, object::kReadOnlyReaderByte, 1);
  const int pins = shared_locks(name, object::kSlotHoldBytes, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the writer sees it
  RecordHeader record;
  record.size = 8;
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(writer->write(record, &value, shmring::test::in_ms(2000)), WaitStatus::Ok)
        << "the writer overrides holds older than its bound";
  close(pins);
  close(hostile);
}

TEST_F(RingTest, ASharedLockOnTheUnlinkByteDoesNotKeepARingAlive) {
  const std::string name = ring("unlink-lock");
  auto writer = Writer::create({name, 2, 64, 0644});
  const int hostile = shared_locks(name, std::uint64_t{1} << 40, 1);
  writer->close();
  EXPECT_FALSE(shmring::test::ring_exists(name)) << "removed on close all the same";
  close(hostile);
}

TEST_F(RingTest, AFifoUnderTheNameIsRefusedNotWaitedOn) {
  const std::string name = ring("fifo");
  ASSERT_EQ(mkfifo(("/dev/shm/shmring." + name).c_str(), 0666), 0);
  EXPECT_EQ(open_error(name), ErrorCode::Corrupt);
  try {
    Writer::create({name, 2, 64});
    ADD_FAILURE() << "a writer took a FIFO's name";
  } catch (const Error &error) {
    EXPECT_NE(std::string(error.what()).find("not a shared memory object"), std::string::npos)
        << error.what();
  }
  unlink(("/dev/shm/shmring." + name).c_str());
}
