// The seed's CircularBuffer in queue mode: N fixed-size nodes in shared
// memory; any number of writers and readers in any processes; every item is
// taken by exactly one reader, in order of commit position. (Broadcast, where
// every reader sees every item, is shmring::Writer / shmring::Reader.)
//
//   auto queue = shmring::CircularBuffer::create("jobs", 8, 1024);   // any process
//   queue.write(&job, sizeof job, 100ms);                 // false after 100 ms full
//
//   auto jobs = shmring::CircularBuffer::open("jobs");                // a worker
//   if (auto n = jobs.read(&job, jobs.node_size(), 1s)) { ... }    // *n bytes
//
// Zero copy: acquire_write() lends a node to fill in place, commit() hands it
// to readers; acquire_read() lends a filled node, released when the lease is.
// Lock-free: positions are claimed with one CAS on the node's own word, which
// records the claimer, so a writer or reader that dies holding a node is
// found by whoever waits on that node and the node is recovered (a writer's
// item is dropped, a reader's item is lost; both are counted).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "shmring/timeout.hpp"

namespace shmring {

class CircularBuffer {
  struct Impl;

 public:
  // A node lent to one writer. Not committed when destroyed: the position
  // is given up (readers skip it), never published half-written.
  class WriteLease {
   public:
    WriteLease() = default;
    WriteLease(WriteLease &&other) noexcept;
    WriteLease &operator=(WriteLease &&other) noexcept;
    ~WriteLease();
    explicit operator bool() const { return impl_ != nullptr; }
    std::byte *data() const { return data_; }
    std::size_t capacity() const { return capacity_; }
    // Publishes the first `size` bytes (Error OutOfRange above capacity()).
    void commit(std::size_t size);

   private:
    friend class CircularBuffer;
    void abandon();
    Impl *impl_ = nullptr;
    std::uint64_t position_ = 0;
    std::byte *data_ = nullptr;
    std::size_t capacity_ = 0;
  };

  // A filled node lent to one reader; the node returns to writers on release().
  class ReadLease {
   public:
    ReadLease() = default;
    ReadLease(ReadLease &&other) noexcept;
    ReadLease &operator=(ReadLease &&other) noexcept;
    ~ReadLease();
    explicit operator bool() const { return impl_ != nullptr; }
    const std::byte *data() const { return data_; }
    std::size_t size() const { return size_; }
    void release();

   private:
    friend class CircularBuffer;
    Impl *impl_ = nullptr;
    std::uint64_t position_ = 0;
    const std::byte *data_ = nullptr;
    std::size_t size_ = 0;
  };

  struct Counters {
    std::uint64_t written = 0;    // positions claimed by writers
    std::uint64_t taken = 0;      // positions claimed by readers
    std::uint64_t abandoned = 0;  // claimed by a writer that died or gave up
    std::uint64_t lost = 0;       // claimed by a reader that died holding it
  };

  // node_count >= 2. Throws Error: InvalidName, InvalidArgument (also perms
  // without 0600), OwnerAlive, WrongKind, NoSpace.
  static CircularBuffer create(const std::string &name, std::uint32_t node_count,
                               std::uint64_t node_size, mode_t perms = 0600);
  // Opens read-write. Throws Error: NotFound, WrongKind, Corrupt,
  // VersionMismatch, NotReady, HandlesFull (64 handles are open at once),
  // PermissionDenied (an object of a user other than this one or root, or
  // one this user may not open read-write).
  static CircularBuffer open(const std::string &name);

  CircularBuffer(CircularBuffer &&) noexcept;
  CircularBuffer &operator=(CircularBuffer &&) noexcept;
  // Leases must be gone before their queue handle is.
  ~CircularBuffer();

  const std::string &name() const;
  std::uint32_t node_count() const;
  std::uint64_t node_size() const;
  Counters counters() const;

  // Empty lease when no node came free within `timeout`.
  WriteLease acquire_write(Timeout timeout = kWaitForever);
  // Empty lease when nothing was committed within `timeout`.
  ReadLease acquire_read(Timeout timeout = kWaitForever);

  // Copying forms. write: false on timeout; Error(TooLarge) for an item
  // larger than a node. read: the item's size, or nullopt on timeout;
  // Error(InvalidArgument) if `capacity` < node_size(), checked before an
  // item is taken, so nothing is ever truncated or lost by a short buffer.
  bool write(const void *source, std::size_t size, Timeout timeout = kWaitForever);
  std::optional<std::size_t> read(void *destination, std::size_t capacity,
                                  Timeout timeout = kWaitForever);

 private:
  explicit CircularBuffer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring
