// SharedBuffer and SharedArray: the buffer and array kinds of the one
// object layer. Both are a read/write lock (rw_lock.hpp) over a payload;
// an array's params also record its element size and type.
#include "shmring/shared_buffer.hpp"

#include <unistd.h>

#include <cstring>

#include "kind_traits.hpp"
#include "named_object.hpp"
#include "rw_lock.hpp"
#include "shmring/error.hpp"

namespace shmring {

namespace {

constexpr std::uint32_t kLayoutVersion = 1;  // of SharedRwLock
// The params: element size (1 for a buffer), element count, type tag (0 for
// a buffer; an array's fingerprint of T).
enum Param { kElementSize = 0, kElementCount = 1, kTypeTag = 2 };

object::Params params_of(std::uint64_t element_size, std::uint64_t count, std::uint64_t type_tag) {
  object::Params params;
  params.value[kElementSize] = element_size;
  params.value[kElementCount] = count;
  params.value[kTypeTag] = type_tag;
  return params;
}

bool sizes(const object::Params &params, std::uint64_t &control_size, std::uint64_t &payload_size) {
  const std::uint64_t element_size = params.value[kElementSize];
  const std::uint64_t count = params.value[kElementCount];
  if (element_size == 0 || count == 0 || params.value[3] != 0 ||
      element_size > object::kMaxTotalSize / count)
    return false;
  control_size = sizeof(SharedRwLock);
  payload_size = element_size * count;
  return true;
}

std::string describe_buffer_params(const object::Params &params) {
  return std::to_string(params.value[kElementCount] * params.value[kElementSize]) + " bytes";
}

std::string describe_array_params(const object::Params &params) {
  return std::to_string(params.value[kElementCount]) + " elements of " +
         std::to_string(params.value[kElementSize]) + " bytes";
}

void describe(const object::Look &look, ObjectInfo &info) {
  info.element_size = look.verdict.params.value[kElementSize];
  info.element_count = look.verdict.params.value[kElementCount];
  const RwLockState state = rw_lock_state(*reinterpret_cast<const SharedRwLock *>(look.control));
  info.lock_writer = state.written ? look.participants.pid(state.writer - 1) : 0;
  info.lock_readers = state.readers;
}

const object::KindTraits kBufferTraits{ObjectKind::Buffer,     "buffer", kLayoutVersion, sizes,
                                       describe_buffer_params, describe};
const object::KindTraits kArrayTraits{ObjectKind::Array,     "array", kLayoutVersion, sizes,
                                      describe_array_params, describe};
[[maybe_unused]] const bool registered =
    object::register_kind(kBufferTraits) && object::register_kind(kArrayTraits);

}  // namespace

struct SharedBuffer::Impl {
  object::Handle handle;
  object::Participants participants;
  SharedRwLock *lock;
  std::uint32_t self = 0;  // our participant entry: how the lock knows us

  explicit Impl(object::Handle handle_)
      : handle(std::move(handle_)),
        participants(handle),
        lock(reinterpret_cast<SharedRwLock *>(handle.control())) {
    self = participants.join([](std::uint32_t) {}, drop_holder());
  }

  ~Impl() {
    if (!handle.in_opener())
      return;  // a forked child's copy: the entry, its holds and the name are the parent's
    rw_lock_drop_holder(*lock, self);
    participants.leave(self);
    // The creator owns the name, as a ring's writer does.
    if (handle.owner)
      handle.object.unlink_if_still_named();
  }

  std::function<void(std::uint32_t)> drop_holder() {
    return [this](std::uint32_t dead) { rw_lock_drop_holder(*lock, dead); };
  }
  std::function<void()> sweep() {
    return [this] { participants.reap(self, drop_holder()); };
  }

  std::uint64_t element_size() const { return handle.params.value[kElementSize]; }
  std::uint64_t element_count() const { return handle.params.value[kElementCount]; }
  std::uint64_t size() const { return element_size() * element_count(); }

  void check_range(std::uint64_t length, std::uint64_t offset) const {
    if (offset > size() || length > size() - offset)
      throw Error(ErrorCode::OutOfRange,
                  "bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                      " are outside " + handle.what() + " of " + std::to_string(size()) + " bytes");
  }
};

namespace {

std::unique_ptr<SharedBuffer::Impl> create_impl(const std::string &name, ObjectKind kind,
                                                const object::Params &params, mode_t perms) {
  // Zeroed memory is an unlocked lock.
  return std::make_unique<SharedBuffer::Impl>(
      object::create(name, kind, params, perms, [](std::byte *, const object::Layout &) {}));
}

}  // namespace

SharedBuffer::SharedBuffer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SharedBuffer::SharedBuffer(SharedBuffer &&) noexcept = default;
SharedBuffer &SharedBuffer::operator=(SharedBuffer &&) noexcept = default;
SharedBuffer::~SharedBuffer() = default;

SharedBuffer SharedBuffer::create(const std::string &name, std::uint64_t size, mode_t perms) {
  return SharedBuffer(create_impl(name, ObjectKind::Buffer, params_of(1, size, 0), perms));
}

SharedBuffer SharedBuffer::open(const std::string &name) {
  return SharedBuffer(std::make_unique<Impl>(object::open(name, ObjectKind::Buffer)));
}

SharedBuffer SharedBuffer::create_array(const std::string &name, std::uint64_t element_size,
                                        std::uint64_t count, std::uint64_t type_tag, mode_t perms) {
  return SharedBuffer(
      create_impl(name, ObjectKind::Array, params_of(element_size, count, type_tag), perms));
}

SharedBuffer SharedBuffer::open_array(const std::string &name, std::uint64_t element_size,
                                      std::uint64_t type_tag) {
  object::Handle handle = object::open(name, ObjectKind::Array);
  const object::Params &found = handle.params;
  if (found.value[kElementSize] != element_size || found.value[kTypeTag] != type_tag)
    throw Error(ErrorCode::TypeMismatch,
                handle.what() + " holds elements of " + std::to_string(found.value[kElementSize]) +
                    " bytes (type tag " + std::to_string(found.value[kTypeTag]) + "), not " +
                    std::to_string(element_size) + " (tag " + std::to_string(type_tag) + ")");
  return SharedBuffer(std::make_unique<Impl>(std::move(handle)));
}

const std::string &SharedBuffer::name() const { return impl_->handle.name; }
std::uint64_t SharedBuffer::size() const { return impl_->size(); }
std::uint64_t SharedBuffer::element_count() const { return impl_->element_count(); }
bool SharedBuffer::is_creator() const { return impl_->handle.owner; }
std::byte *SharedBuffer::data() { return impl_->handle.payload(); }
const std::byte *SharedBuffer::data() const { return impl_->handle.payload(); }

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
  return rw_lock_shared(*impl_->lock, impl_->self, deadline_after(timeout), impl_->sweep());
}

void SharedBuffer::unlock_read() const { rw_unlock_shared(*impl_->lock, impl_->self); }

bool SharedBuffer::lock_write(Timeout timeout) {
  return rw_lock_exclusive(*impl_->lock, impl_->self, deadline_after(timeout), impl_->sweep());
}

void SharedBuffer::unlock_write() { rw_unlock_exclusive(*impl_->lock, impl_->self); }

}  // namespace shmring
