#include "shmring/error.hpp"

#include <cstring>

namespace shmring {

void throw_system_error(const std::string &what, int err) {
  ErrorCode code = ErrorCode::System;
  if (err == ENOENT)
    code = ErrorCode::NotFound;
  else if (err == EACCES || err == EPERM)
    code = ErrorCode::PermissionDenied;
  throw Error(code, what + ": " + std::strerror(err));
}

}  // namespace shmring
