// The one exception type of the core library. Open/create paths throw it; the
// per-frame paths return result enums instead, because waiting for a frame that
// is not there yet is normal, not exceptional.
#pragma once

#include <stdexcept>
#include <string>

namespace shmring {

enum class ErrorCode {
  InvalidName,       // object name outside [A-Za-z0-9._-]{1,200}, or "." / ".."
  InvalidArgument,   // a count or size out of range
  NotFound,          // no object of that name exists (yet)
  NotReady,          // the object exists but its owner has not finished creating it
  OwnerAlive,        // a live process owns an object of that name
  Corrupt,           // header or geometry fails validation
  VersionMismatch,   // created by another version of shmring, or another record schema
  HandlesFull,       // every participant entry of the object is taken
  PermissionDenied,  // the object exists but this user may not open it
  System,            // any other failed system call (errno in the message)
  WrongKind,         // the name holds another kind of object (a ring, not an array)
  TypeMismatch,      // a shared array opened with an element type of another size
  OutOfRange,        // an index or byte range outside a shared buffer or array
  TooLarge,          // an item larger than a queue node
  NoSpace,           // /dev/shm has not the memory the object needs
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Throws ErrorCode::System with "what: strerror(errno)".
[[noreturn]] void throw_system_error(const std::string &what, int err);

}  // namespace shmring
