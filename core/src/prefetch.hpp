// Asking for a cache line in the state we are about to need it in, before
// the load that would otherwise fetch it.
#pragma once

namespace shmring {

// Fetches the line at `address` for writing (exclusive), without waiting
// for it. A line the other process wrote last comes over once, owned,
// instead of twice: shared for a load, then again for the compare-exchange
// that follows it. Only a hint: it never faults and never changes memory.
inline void prefetch_for_write(const void *address) {
#if defined(__x86_64__) || defined(__i386__)
  // PREFETCHW (0F 0D /1): __builtin_prefetch emits it only with -mprfchw,
  // and CPUs without it run it as a NOP.
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char *>(address)));
#else
  __builtin_prefetch(address, 1, 3);
#endif
}

}  // namespace shmring
