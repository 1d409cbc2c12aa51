// Asking for a cache line ahead of a write to it.
#pragma once

namespace shmring {

// Brings the line at `address` into this core's cache ready to be written
// (exclusive), so that a store to it a while later finds it there rather
// than asking another core for it then. A hint: it never faults and changes
// nothing a reader sees. GCC's __builtin_prefetch(p, 1) emits PREFETCHW only
// with -mprfchw, and a plain prefetch leaves the line shared, which the
// store still has to upgrade; the instruction itself is a no-op on x86 CPUs
// that predate it.
inline void prefetch_for_write(const void *address) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char *>(address)));
#else
  __builtin_prefetch(address, 1, 3);
#endif
}

}  // namespace shmring
