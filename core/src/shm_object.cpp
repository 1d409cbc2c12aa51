#include "shm_object.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "shmring/error.hpp"

namespace shmring {

ShmObject ShmObject::create_exclusive(const std::string &path, mode_t mode,
                                      std::uint64_t size) {
  int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return ShmObject();
    throw_system_error("cannot create shared memory object " + path, errno);
  }
  // shm_open's mode is filtered by the umask; the perms property is what
  // the user asked for, so apply it exactly.
  if (fchmod(fd, mode) != 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::close(fd);
    shm_unlink(path.c_str());
    throw_system_error("cannot size shared memory object " + path, err);
  }
  return ShmObject(fd, path);
}

ShmObject ShmObject::open_existing(const std::string &path) {
  int fd = shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    throw_system_error("cannot open shared memory object " + path, errno);
  return ShmObject(fd, path);
}

ShmObject ShmObject::open_read_only(const std::string &path) {
  int fd = shm_open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    throw_system_error("cannot open shared memory object " + path, errno);
  return ShmObject(fd, path);
}

ShmObject::ShmObject(ShmObject &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

ShmObject &ShmObject::operator=(ShmObject &&other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
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

bool ShmObject::same_object(const ShmObject &other) const {
  struct stat mine, theirs;
  if (fstat(fd_, &mine) != 0 || fstat(other.fd_, &theirs) != 0)
    return false;
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

void ShmObject::unlink_if_still_named() const {
  int fd = shm_open(path_.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return;  // already gone, or no longer ours to look at
  ShmObject current(fd, path_);
  if (same_object(current))
    shm_unlink(path_.c_str());
}

void ShmObject::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

Mapping::Mapping(const ShmObject &object, std::uint64_t offset, std::uint64_t length,
                 Access access) {
  int prot = access == Access::ReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void *at = mmap(nullptr, length, prot, MAP_SHARED, object.fd_,
                  static_cast<off_t>(offset));
  if (at == MAP_FAILED)
    throw_system_error("cannot map " + object.path_, errno);
  data_ = static_cast<std::byte *>(at);
  length_ = length;
}

Mapping::Mapping(Mapping &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)) {}

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
