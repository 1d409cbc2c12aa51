// LD_PRELOAD into a writer: fchown(2) waits SHMRING_TEST_FCHOWN_DELAY_MS
// first. A creator gives its new ring the group it shares with fchown; this
// holds it in that instant, so that a test can look at what others see of
// the ring meanwhile, as a writer descheduled there would show them.
#include <dlfcn.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>

extern "C" int fchown(int fd, uid_t owner, gid_t group) {
  using Fchown = int (*)(int, uid_t, gid_t);
  static const Fchown real = reinterpret_cast<Fchown>(dlsym(RTLD_NEXT, "fchown"));
  if (const char *delay = std::getenv("SHMRING_TEST_FCHOWN_DELAY_MS"))
    usleep(static_cast<useconds_t>(std::strtoul(delay, nullptr, 10) * 1000));
  return real(fd, owner, group);
}
