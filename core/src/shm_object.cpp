#include "shm_object.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "shmring/error.hpp"

namespace shmring {

ShmObject ShmObject::create_exclusive(const std::string &path) {
  int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return ShmObject();
    throw_system_error("cannot create shared memory object " + path, errno);
  }
  return ShmObject(fd, path, true);
}

void ShmObject::set_mode(mode_t mode) const {
  // shm_open's mode is filtered by the umask; the perms property is what
  // the user asked for, so apply it exactly.
  if (fchmod(fd_, mode) != 0)
    throw_system_error("cannot set the mode of shared memory object " + path_, errno);
}

void ShmObject::reserve(std::uint64_t size) const {
  auto give_up = [&](int err, const std::string &what) {
    unlink_if_still_named();
    throw_system_error(what, err);
  };
  auto no_space = [&](std::uint64_t free_bytes) {
    unlink_if_still_named();
    throw Error(ErrorCode::NoSpace,
                "/dev/shm" + path_ + " needs " + std::to_string(size) + " bytes but /dev/shm has " +
                    std::to_string(free_bytes) +
                    " free: use fewer or smaller slots, a smaller format, or give the "
                    "container more shared memory (docker --shm-size)");
  };
  // What does not fit is refused at once, before a single page is taken.
  struct statvfs fs;
  const bool known = fstatvfs(fd_, &fs) == 0;
  const std::uint64_t free_bytes = known ? std::uint64_t(fs.f_bavail) * fs.f_frsize : 0;
  if (known && size > free_bytes)
    no_space(free_bytes);
  if (ftruncate(fd_, static_cast<off_t>(size)) != 0)
    give_up(errno, "cannot size shared memory object " + path_);
  // ftruncate only promises the pages; tmpfs hands them out on first touch
  // and raises SIGBUS when it has none left. Reserve them all now.
  const int err = posix_fallocate(fd_, 0, static_cast<off_t>(size));
  if (err == ENOSPC || err == EFBIG)
    no_space(free_bytes);  // as it was: the failed reservation has been undone since
  if (err != 0)
    give_up(err, "cannot reserve memory for shared memory object " + path_);
}

namespace {

// Opens an existing name without ever blocking (a FIFO under the name would
// block an open until somebody writes to it) and without following a
// symlink; anything but a regular file is refused.
int open_regular(const std::string &path, int flags) {
  const int fd = shm_open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = EINVAL;
    return -2;
  }
  return fd;
}

int open_or_throw(const std::string &path, int flags) {
  const int fd = open_regular(path, flags);
  if (fd == -2)
    throw Error(ErrorCode::Corrupt,
                "/dev/shm" + path + " is not a shared memory object (a FIFO, device or socket)");
  if (fd < 0)
    throw_system_error("cannot open shared memory object " + path, errno);
  return fd;
}

}  // namespace

ShmObject ShmObject::open_existing(const std::string &path) {
  return ShmObject(open_or_throw(path, O_RDWR), path, true);
}

ShmObject ShmObject::open_read_only(const std::string &path) {
  return ShmObject(open_or_throw(path, O_RDONLY), path, false);
}

ShmObject::ShmObject(ShmObject &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      writable_(other.writable_) {}

ShmObject &ShmObject::operator=(ShmObject &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    writable_ = other.writable_;
  }
  return *this;
}

ShmObject::~ShmObject() { close(); }

std::uint64_t ShmObject::size() const {
  struct stat st;
  if (fstat(fd_, &st) != 0)
    throw_system_error("cannot stat " + path_, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t ShmObject::allocated() const {
  struct stat st;
  if (fstat(fd_, &st) != 0)
    throw_system_error("cannot stat " + path_, errno);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

uid_t ShmObject::owner_uid() const {
  struct stat st;
  if (fstat(fd_, &st) != 0)
    throw_system_error("cannot stat " + path_, errno);
  return st.st_uid;
}

std::chrono::nanoseconds ShmObject::unchanged_for() const {
  struct stat st;
  if (fstat(fd_, &st) != 0)
    throw_system_error("cannot stat " + path_, errno);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const auto nanoseconds = [](const struct timespec &t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
  };
  return std::max(std::chrono::nanoseconds(0), nanoseconds(now) - nanoseconds(st.st_ctim));
}

std::optional<ShmObject::NameInfo> ShmObject::look_at(const std::string &path) {
  // By its name in /dev/shm: the object may be one this user cannot open.
  struct stat st;
  if (lstat(("/dev/shm" + path).c_str(), &st) != 0)
    return std::nullopt;
  return NameInfo{st.st_uid, static_cast<std::uint64_t>(st.st_size), S_ISREG(st.st_mode), st.st_dev,
                  st.st_ino};
}

bool ShmObject::still_named() const {
  const int fd = open_regular(path_, O_RDONLY);
  if (fd < 0)
    return false;
  return same_object(ShmObject(fd, path_, false));
}

void ShmObject::set_group(gid_t group) const {
  if (fchown(fd_, static_cast<uid_t>(-1), group) != 0)
    throw_system_error(
        "cannot give " + path_ + " to group " + std::to_string(group) + " (is this user a member?)",
        errno);
}

bool ShmObject::same_object(const ShmObject &other) const {
  struct stat mine, theirs;
  if (fstat(fd_, &mine) != 0 || fstat(other.fd_, &theirs) != 0)
    return false;
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

bool ShmObject::unlink_if_still_named() const {
  // The lock is on a byte far from the liveness bytes (owner 0, participants
  // 1..64), and through an open of our own with write access (an exclusive
  // OFD lock needs it).
  constexpr std::uint64_t kUnlinkLockByte = std::uint64_t{1} << 40;
  constexpr auto kLockWait = std::chrono::seconds(2);
  const int fd = open_regular(path_, O_RDWR);
  if (fd < 0)
    return false;  // gone already, or not ours to remove
  ShmObject named(fd, path_, true);
  if (!same_object(named))
    return false;  // the name names another object now
  const auto give_up = std::chrono::steady_clock::now() + kLockWait;
  while (!named.hold_byte(kUnlinkLockByte)) {
    // A shared lock there is not another remover's (they take it
    // exclusively) but somebody with read access in the way: go on without.
    if (!named.byte_held_exclusively_elsewhere(kUnlinkLockByte))
      break;
    // Another process is removing this very object: it takes microseconds.
    if (std::chrono::steady_clock::now() >= give_up)
      return false;
    usleep(1000);
  }
  // Under the lock nobody else removes this object: if the name still names
  // it now, it does until our unlink.
  return still_named() && shm_unlink(path_.c_str()) == 0;
}

namespace {
struct flock one_byte(short type, std::uint64_t byte) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(byte);
  lock.l_len = 1;
  lock.l_pid = 0;  // required for the OFD commands
  return lock;
}
}  // namespace

bool ShmObject::hold_byte(std::uint64_t byte) const {
  struct flock lock = one_byte(writable_ ? F_WRLCK : F_RDLCK, byte);
  if (fcntl(fd_, F_OFD_SETLK, &lock) == 0)
    return true;
  if (errno == EAGAIN || errno == EACCES)
    return false;
  throw_system_error("cannot lock a byte of " + path_, errno);
}

void ShmObject::release_byte(std::uint64_t byte) const {
  struct flock lock = one_byte(F_UNLCK, byte);
  fcntl(fd_, F_OFD_SETLK, &lock);
}

bool ShmObject::byte_held_elsewhere(std::uint64_t byte) const {
  // Asking for a write lock conflicts with every lock, shared or not.
  struct flock lock = one_byte(F_WRLCK, byte);
  if (fcntl(fd_, F_OFD_GETLK, &lock) != 0)
    return true;
  return lock.l_type != F_UNLCK;
}

bool ShmObject::byte_held_exclusively_elsewhere(std::uint64_t byte) const {
  struct flock lock = one_byte(F_WRLCK, byte);
  if (fcntl(fd_, F_OFD_GETLK, &lock) != 0)
    return true;
  return lock.l_type == F_WRLCK;
}

void ShmObject::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

Mapping::Mapping(const ShmObject &object, std::uint64_t offset, std::uint64_t length,
                 Access access) {
  int prot = access == Access::ReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void *at = mmap(nullptr, length, prot, MAP_SHARED, object.fd_, static_cast<off_t>(offset));
  if (at == MAP_FAILED)
    throw_system_error("cannot map " + object.path_, errno);
  data_ = static_cast<std::byte *>(at);
  length_ = length;
}

Mapping::Mapping(Mapping &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)), length_(std::exchange(other.length_, 0)) {}

Mapping &Mapping::operator=(Mapping &&other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() {
  if (data_)
    munmap(data_, length_);
  data_ = nullptr;
  length_ = 0;
}

}  // namespace shmring
