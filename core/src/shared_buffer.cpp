#include "shmring/shared_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "region.hpp"
#include "rw_lock.hpp"
#include "shmring/error.hpp"

namespace shmring {

struct SharedBuffer::Impl {
  region::Region region;
  SharedRwLock *lock;
  // Our identity as a lock holder, refreshed after a fork.
  mutable ProcessIdentity self;

  explicit Impl(region::Region region_)
      : region(std::move(region_)),
        lock(reinterpret_cast<SharedRwLock *>(region.control())),
        self(current_process()) {}

  ~Impl() {
    // The creator owns the name, as a ring's writer does.
    if (region.creator)
      region.object.unlink_if_still_named();
  }

  const ProcessIdentity &identity() const {
    if (self.pid != getpid())
      self = current_process();
    return self;
  }

  std::uint64_t size() const { return region.shape.element_size * region.shape.element_count; }

  void check_range(std::uint64_t length, std::uint64_t offset) const {
    if (offset > size() || length > size() - offset)
      throw Error(ErrorCode::OutOfRange,
                  "bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                      " are outside " + region::kind_name(region.shape.kind) + " '" +
                      region.name + "' of " + std::to_string(size()) + " bytes");
  }
};

SharedBuffer::SharedBuffer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SharedBuffer::SharedBuffer(SharedBuffer &&) noexcept = default;
SharedBuffer &SharedBuffer::operator=(SharedBuffer &&) noexcept = default;
SharedBuffer::~SharedBuffer() = default;

SharedBuffer SharedBuffer::create(const std::string &name, std::uint64_t size,
                                  mode_t perms) {
  region::Shape shape{region::Kind::Buffer, 1, size, 0};
  return SharedBuffer(std::make_unique<Impl>(region::create(
      name, shape, perms,
      [](std::byte *control) { rw_lock_init(*reinterpret_cast<SharedRwLock *>(control)); })));
}

SharedBuffer SharedBuffer::open(const std::string &name) {
  return SharedBuffer(
      std::make_unique<Impl>(region::open(name, region::Shape{region::Kind::Buffer, 1, 0, 0})));
}

SharedBuffer SharedBuffer::create_array(const std::string &name, std::uint64_t element_size,
                                        std::uint64_t count, std::uint64_t type_tag,
                                        mode_t perms) {
  region::Shape shape{region::Kind::Array, element_size, count, type_tag};
  return SharedBuffer(std::make_unique<Impl>(region::create(
      name, shape, perms,
      [](std::byte *control) { rw_lock_init(*reinterpret_cast<SharedRwLock *>(control)); })));
}

SharedBuffer SharedBuffer::open_array(const std::string &name, std::uint64_t element_size,
                                      std::uint64_t type_tag) {
  return SharedBuffer(std::make_unique<Impl>(
      region::open(name, region::Shape{region::Kind::Array, element_size, 0, type_tag})));
}

const std::string &SharedBuffer::name() const { return impl_->region.name; }
std::uint64_t SharedBuffer::size() const { return impl_->size(); }
std::uint64_t SharedBuffer::element_count() const { return impl_->region.shape.element_count; }
bool SharedBuffer::is_creator() const { return impl_->region.creator; }
std::byte *SharedBuffer::data() { return impl_->region.payload(); }
const std::byte *SharedBuffer::data() const { return impl_->region.payload(); }

bool SharedBuffer::write(const void *source, std::uint64_t length, std::uint64_t offset,
                         Timeout timeout) {
  impl_->check_range(length, offset);
  if (!lock_write(timeout))
    return false;
  std::memcpy(data() + offset, source, length);
  unlock_write();
  return true;
}

bool SharedBuffer::read(void *destination, std::uint64_t length, std::uint64_t offset,
                        Timeout timeout) const {
  impl_->check_range(length, offset);
  if (!lock_read(timeout))
    return false;
  std::memcpy(destination, data() + offset, length);
  unlock_read();
  return true;
}

bool SharedBuffer::lock_read(Timeout timeout) const {
  return rw_lock_shared(*impl_->lock, impl_->identity(), deadline_after(timeout));
}

void SharedBuffer::unlock_read() const { rw_unlock_shared(*impl_->lock, impl_->identity()); }

bool SharedBuffer::lock_write(Timeout timeout) {
  return rw_lock_exclusive(*impl_->lock, impl_->identity(), deadline_after(timeout));
}

void SharedBuffer::unlock_write() { rw_unlock_exclusive(*impl_->lock, impl_->identity()); }

}  // namespace shmring
