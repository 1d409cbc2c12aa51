#include "shmring/perms.hpp"

#include <cstdio>

namespace shmring {

std::string perms_problem(mode_t perms) {
  if ((perms & 0600) == 0600 && (perms & ~mode_t{0777}) == 0)
    return {};
  char octal[16];
  std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(perms));
  return std::string("perms ") + octal +
         " must give its owner read and write (0600) and nothing beyond 0777";
}

}  // namespace shmring
