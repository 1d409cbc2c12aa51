// A POSIX shared memory object: its descriptor and the mappings made of it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace shmring {

class ShmObject {
 public:
  // O_CREAT|O_EXCL, open to its creator only (set_mode shares it once it
  // has its group). Returns an object with no descriptor when the name is
  // taken; throws otherwise.
  static ShmObject create_exclusive(const std::string &path);
  // Exactly `mode` (the umask does not apply).
  void set_mode(mode_t mode) const;
  // For the creator: sizes the object and reserves its memory
  // (posix_fallocate), so that a full /dev/shm is an error now, never a
  // SIGBUS later. On failure (Error(NoSpace) when it does not fit) the name
  // is removed: nothing is left behind.
  void reserve(std::uint64_t size) const;
  // Read-write open of an existing object; throws Error(NotFound) if absent.
  static ShmObject open_existing(const std::string &path);
  // Read-only open, for tooling that only looks (and may not write).
  static ShmObject open_read_only(const std::string &path);

  ShmObject() = default;
  ShmObject(ShmObject &&other) noexcept;
  ShmObject &operator=(ShmObject &&other) noexcept;
  ShmObject(const ShmObject &) = delete;
  ShmObject &operator=(const ShmObject &) = delete;
  ~ShmObject();

  bool valid() const { return fd_ >= 0; }
  const std::string &path() const { return path_; }
  // The object's current size from fstat: the only size a reader trusts.
  std::uint64_t size() const;
  // Bytes of memory the object really has (fstat st_blocks). tmpfs hands
  // out a page not reserved in advance on first touch, and raises SIGBUS
  // when it has none left: a page beyond this is never touched.
  std::uint64_t allocated() const;
  // The user that owns the object (fstat st_uid).
  uid_t owner_uid() const;
  // How long since the object last changed size or owner (its inode's
  // change time): how long a half-created object has been left as it is.
  std::chrono::nanoseconds unchanged_for() const;
  // Owner and size of the object a name (a path as for shm_open) names,
  // which this user need not be able to open; nullopt when there is none.
  struct NameInfo {
    uid_t owner;
    std::uint64_t size;
    bool regular;  // a file, as shm objects are (not a FIFO, directory, link)
    dev_t device;
    ino_t inode;
    bool same_object(const NameInfo &other) const {
      return device == other.device && inode == other.inode;
    }
  };
  static std::optional<NameInfo> look_at(const std::string &path);
  // Whether its name still names this very object.
  bool still_named() const;
  // Gives the object to `group` (the creator must be a member); throws
  // Error(PermissionDenied) otherwise.
  void set_group(gid_t group) const;

  // Closes the descriptor; mappings stay valid.
  void close();

  // True when both descriptors refer to the same object (device and inode),
  // e.g. whether a name still points at the object we created.
  bool same_object(const ShmObject &other) const;

  // Removes the name, but only while it still names this object: another
  // process that judged our owner dead may have replaced it already. Every
  // shmring process that removes a name (a creator replacing a stale object,
  // `shmring clean`, the last reader of a dead writer's ring, a writer
  // closing) first takes the exclusive unlink lock of the object it means
  // to remove, then checks under it that the name still names that object:
  // of two that judged the same object stale, the second sees the first's
  // replacement and leaves it alone. Without write access to the object
  // (no exclusive lock to be had) nothing is removed.
  // Returns true when it removed the name.
  bool unlink_if_still_named() const;

  // Liveness locks: open-file-description byte-range locks (F_OFD_SETLK) on
  // single bytes of the object. The kernel drops them when the last
  // descriptor of this open goes, that is when the process dies, in any PID
  // namespace. They are advisory and say nothing about the bytes' contents.
  //
  // Takes the lock on `byte` (exclusive on a writable descriptor, shared on
  // a read-only one); false when another open holds a conflicting lock.
  bool hold_byte(std::uint64_t byte) const;
  void release_byte(std::uint64_t byte) const;
  // True when another open of this object (any process, any namespace, or
  // another open in this process) holds a lock on `byte`. Locks held through
  // this very open do not count. An error reads as "held": liveness is never
  // denied on a failed check.
  bool byte_held_elsewhere(std::uint64_t byte) const;
  // The same for an exclusive lock only: what liveness counts. An exclusive
  // lock needs write access, so a user who may only read the object cannot
  // fake one (a shared lock it can take on any byte).
  bool byte_held_exclusively_elsewhere(std::uint64_t byte) const;
  bool writable() const { return writable_; }

 private:
  ShmObject(int fd, std::string path, bool writable)
      : fd_(fd), path_(std::move(path)), writable_(writable) {}
  friend class Mapping;
  int fd_ = -1;
  std::string path_;
  bool writable_ = false;
};

// One mmap of part of a ShmObject, unmapped on destruction.
class Mapping {
 public:
  enum class Access { ReadOnly, ReadWrite };
  Mapping() = default;  // maps nothing
  Mapping(const ShmObject &object, std::uint64_t offset, std::uint64_t length, Access access);
  Mapping(Mapping &&other) noexcept;
  Mapping &operator=(Mapping &&other) noexcept;
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;
  ~Mapping();

  std::byte *data() const { return data_; }
  std::uint64_t length() const { return length_; }

 private:
  void reset();
  std::byte *data_ = nullptr;
  std::uint64_t length_ = 0;
};

}  // namespace shmring
