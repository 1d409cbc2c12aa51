// The core's side of shmring/log.hpp: cheap when nobody listens.
#pragma once

#include <string>

#include "shmring/log.hpp"

namespace shmring::log {

// Whether a message of `level` would reach a handler: check before
// formatting anything.
bool enabled(LogLevel level);
void emit(LogLevel level, const std::string &message);

}  // namespace shmring::log

// Formats only when enabled: SHMRING_LOG(Info, "ring " + name + " created").
#define SHMRING_LOG(level, message)                                \
  do {                                                             \
    if (::shmring::log::enabled(::shmring::LogLevel::level))       \
      ::shmring::log::emit(::shmring::LogLevel::level, (message)); \
  } while (0)
