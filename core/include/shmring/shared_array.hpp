// A named shared array of trivially copyable T (the seed's Array<T>), with
// bounds-checked access. The header records sizeof(T), alignof(T) and the
// length, so an opener gives only the name, and opening with an element type
// of another size or alignment is an error, not garbage.
//
//   auto squares = shmring::SharedArray<int>::create("squares", 10);  // process A
//   for (std::size_t i = 0; i < squares.size(); ++i) squares.set(i, int(i * i));
//
//   auto view = shmring::SharedArray<int>::open("squares");          // process B
//   int nine = view.at(3);
//
// Single elements are copied whole under the array's read/write lock, so a
// reader never sees half of a value that is larger than a machine word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "shmring/error.hpp"
#include "shmring/shared_buffer.hpp"

namespace shmring {

template <typename T>
class SharedArray {
  static_assert(std::is_trivially_copyable_v<T>,
                "a shared array holds bytes that another process copies");

 public:
  static SharedArray create(const std::string &name, std::size_t length, mode_t perms = 0600) {
    return SharedArray(SharedBuffer::create_array(name, sizeof(T), length, type_tag(), perms));
  }
  static SharedArray open(const std::string &name) {
    return SharedArray(SharedBuffer::open_array(name, sizeof(T), type_tag()));
  }

  std::size_t size() const { return static_cast<std::size_t>(buffer_.element_count()); }
  const std::string &name() const { return buffer_.name(); }

  // Bounds-checked element access: Error(OutOfRange) past the end.
  T at(std::size_t index) const {
    T value;
    buffer_.read(&value, sizeof(T), offset_of(index, 1));
    return value;
  }
  void set(std::size_t index, const T &value) {
    buffer_.write(&value, sizeof(T), offset_of(index, 1));
  }

  // Bulk copies of `count` elements from `first` (the seed's Read(T[], start)
  // and Write(T[], start)); the whole range is checked before anything moves.
  void read(T *destination, std::size_t count, std::size_t first = 0) const {
    buffer_.read(destination, sizeof(T) * count, offset_of(first, count));
  }
  void write(const T *source, std::size_t count, std::size_t first = 0) {
    buffer_.write(source, sizeof(T) * count, offset_of(first, count));
  }

  // The array's read/write lock, for several accesses that must appear as one.
  SharedBuffer &buffer() { return buffer_; }
  const SharedBuffer &buffer() const { return buffer_; }

 private:
  explicit SharedArray(SharedBuffer buffer) : buffer_(std::move(buffer)) {}

  static constexpr std::uint64_t type_tag() {
    return (std::uint64_t{sizeof(T)} << 16) | std::uint64_t{alignof(T)};
  }

  std::uint64_t offset_of(std::size_t first, std::size_t count) const {
    if (first > size() || count > size() - first)
      throw Error(ErrorCode::OutOfRange,
                  "elements " + std::to_string(first) + ".." + std::to_string(first + count) +
                      " are outside shared array '" + name() + "' of " + std::to_string(size()));
    return std::uint64_t{first} * sizeof(T);
  }

  SharedBuffer buffer_;
};

}  // namespace shmring
