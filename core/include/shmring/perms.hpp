// The file mode an object is shared with (`perms`), checked before anything
// is created.
#pragma once

#include <sys/types.h>

#include <string>

namespace shmring {

// Empty when `perms` may be used, else a sentence saying why not. It must
// give the owner read and write: its own user's other processes open the
// object read-write (the owner lock, a reader's entry), and an object that
// shuts them out can be neither used nor cleaned up.
std::string perms_problem(mode_t perms);

}  // namespace shmring
