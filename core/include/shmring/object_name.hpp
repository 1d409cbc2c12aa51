// Object names as users type them ("cam0") and the POSIX shm object they map
// to ("/shmring.cam0"). Rings, buffers, arrays and queues share the namespace.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shmring {

constexpr std::size_t kMaxObjectNameLength = 200;

// Empty when the name is allowed, else a sentence saying why it is not.
std::string object_name_problem(std::string_view name);

// The shm_open() path for a validated name; throws Error(InvalidName) otherwise.
std::string shm_path_for(std::string_view name);

}  // namespace shmring
