#include "shmring/ring_name.hpp"

#include "shmring/error.hpp"

namespace shmring {

namespace {
bool allowed_character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
}  // namespace

std::string ring_name_problem(std::string_view name) {
  if (name.empty())
    return "the ring name is empty";
  if (name.size() > kMaxRingNameLength)
    return "the ring name is longer than " + std::to_string(kMaxRingNameLength) +
           " characters";
  if (name == "." || name == "..")
    return "the ring name may not be '.' or '..'";
  for (char c : name) {
    if (!allowed_character(c))
      return std::string("the ring name contains '") + c +
             "'; only letters, digits, '.', '_' and '-' are allowed";
  }
  return {};
}

std::string shm_path_for_ring(std::string_view name) {
  std::string problem = ring_name_problem(name);
  if (!problem.empty())
    throw Error(ErrorCode::InvalidName,
                "invalid ring name '" + std::string(name) + "': " + problem);
  return "/shmring." + std::string(name);
}

}  // namespace shmring
