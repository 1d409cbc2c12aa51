// A named block of shared memory (the seed's Buffer, BufferWithLocks and
// BufferReadWrite in one class). Its header records its size, so an opener
// needs only the name; a read/write lock in the same object serialises
// access across processes, and a holder that dies cannot wedge it.
//
//   auto buffer = shmring::SharedBuffer::create("config", 4096);     // process A
//   buffer.write(settings);                       // takes the write lock itself
//
//   auto view = shmring::SharedBuffer::open("config");              // process B
//   Settings settings = view.read<Settings>();      // takes the read lock itself
//
// The creator owns the name: it is unlinked when the creator's object is
// destroyed. Openers keep their mapping until they let go of it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include "shmring/timeout.hpp"

namespace shmring {

class SharedBuffer {
 public:
  // Throws Error: InvalidName, InvalidArgument (size 0 or too large, or
  // perms without 0600), OwnerAlive (a live process created that name),
  // WrongKind, NoSpace.
  static SharedBuffer create(const std::string &name, std::uint64_t size, mode_t perms = 0600);
  // Opens read-write. Throws Error: NotFound, WrongKind, Corrupt,
  // VersionMismatch, NotReady, PermissionDenied (an object of a user other
  // than this one or root, or one this user may not open read-write).
  static SharedBuffer open(const std::string &name);

  SharedBuffer(SharedBuffer &&) noexcept;
  SharedBuffer &operator=(SharedBuffer &&) noexcept;
  ~SharedBuffer();

  const std::string &name() const;
  std::uint64_t size() const;
  bool is_creator() const;

  // Raw access, for callers that hold the lock themselves (or need none).
  std::byte *data();
  const std::byte *data() const;

  // Copying access: checks the range (Error OutOfRange) and holds the lock
  // for the copy. Returns false when the lock was not had within `timeout`.
  bool write(const void *source, std::uint64_t length, std::uint64_t offset = 0,
             Timeout timeout = kWaitForever);
  bool read(void *destination, std::uint64_t length, std::uint64_t offset = 0,
            Timeout timeout = kWaitForever) const;

  template <typename T>
  bool write(const T &value, std::uint64_t offset = 0, Timeout timeout = kWaitForever) {
    static_assert(std::is_trivially_copyable_v<T>, "shared values are copied bytewise");
    return write(&value, sizeof(T), offset, timeout);
  }
  // Waits for the read lock as long as it takes (use the bool form above
  // for a timeout).
  template <typename T>
  T read(std::uint64_t offset = 0) const {
    static_assert(std::is_trivially_copyable_v<T>, "shared values are copied bytewise");
    T value;
    read(&value, sizeof(T), offset, kWaitForever);
    return value;
  }

  // The cross-process read/write lock itself (the seed's AcquireReadLock /
  // AcquireWriteLock). Each returns false on timeout. A process that dies
  // while holding it, in any PID namespace, loses it within about 100 ms of
  // somebody waiting. A thread that holds the read lock must not ask for
  // the write lock (nor, while a writer waits, for another read lock).
  bool lock_read(Timeout timeout = kWaitForever) const;
  void unlock_read() const;
  bool lock_write(Timeout timeout = kWaitForever);
  void unlock_write();

  // For SharedArray: a buffer whose header also records the element size,
  // count and a type tag, checked again by every opener.
  static SharedBuffer create_array(const std::string &name, std::uint64_t element_size,
                                   std::uint64_t count, std::uint64_t type_tag, mode_t perms);
  static SharedBuffer open_array(const std::string &name, std::uint64_t element_size,
                                 std::uint64_t type_tag);
  std::uint64_t element_count() const;

  struct Impl;

 private:
  explicit SharedBuffer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RAII holders for the buffer's lock. Check `owns()` when a timeout was given.
class ReadLock {
 public:
  explicit ReadLock(const SharedBuffer &buffer, Timeout timeout = kWaitForever)
      : buffer_(&buffer), owns_(buffer.lock_read(timeout)) {}
  ~ReadLock() {
    if (owns_)
      buffer_->unlock_read();
  }
  ReadLock(const ReadLock &) = delete;
  ReadLock &operator=(const ReadLock &) = delete;
  bool owns() const { return owns_; }

 private:
  const SharedBuffer *buffer_;
  bool owns_;
};

class WriteLock {
 public:
  explicit WriteLock(SharedBuffer &buffer, Timeout timeout = kWaitForever)
      : buffer_(&buffer), owns_(buffer.lock_write(timeout)) {}
  ~WriteLock() {
    if (owns_)
      buffer_->unlock_write();
  }
  WriteLock(const WriteLock &) = delete;
  WriteLock &operator=(const WriteLock &) = delete;
  bool owns() const { return owns_; }

 private:
  SharedBuffer *buffer_;
  bool owns_;
};

}  // namespace shmring
