#include "shmring/object_name.hpp"

#include "shmring/error.hpp"

namespace shmring {

namespace {
bool allowed_character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
}  // namespace

std::string object_name_problem(std::string_view name) {
  if (name.empty())
    return "the object name is empty";
  if (name.size() > kMaxObjectNameLength)
    return "the object name is longer than " + std::to_string(kMaxObjectNameLength) + " characters";
  if (name == "." || name == "..")
    return "the object name may not be '.' or '..'";
  for (char c : name) {
    if (!allowed_character(c))
      return std::string("the object name contains '") + c +
             "'; only letters, digits, '.', '_' and '-' are allowed";
  }
  return {};
}

std::string shm_path_for(std::string_view name) {
  std::string problem = object_name_problem(name);
  if (!problem.empty())
    throw Error(ErrorCode::InvalidName,
                "invalid object name '" + std::string(name) + "': " + problem);
  return "/shmring." + std::string(name);
}

}  // namespace shmring
