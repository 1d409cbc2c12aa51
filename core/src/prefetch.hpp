// Asking for a cache line in the state we are about to need it in, before
// the load that would otherwise fetch it.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace shmring {

#if defined(__x86_64__) || defined(__i386__)
// Whether this CPU has PREFETCHW (CPUID 0x80000001, ECX bit 8): every AMD
// CPU since the K6-2 and Intel's since Broadwell. Asked once: an x86 CPU
// without it is not promised to treat the instruction as a no-op.
inline bool cpu_has_prefetchw() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_PRFCHW) != 0;
  }();
  return has;
}
#endif

// Fetches the line at `address` for writing (exclusive), without waiting
// for it. A line the other process wrote last comes over once, owned,
// instead of twice: shared for a load, then again for the compare-exchange
// that follows it. Only a hint: it never faults and never changes memory.
inline void prefetch_for_write(const void *address) {
#if defined(__x86_64__) || defined(__i386__)
  // PREFETCHW (0F 0D /1) by hand: __builtin_prefetch emits it only when the
  // whole build targets CPUs that have it (-mprfchw).
  if (cpu_has_prefetchw())
    asm volatile("prefetchw %0" : : "m"(*static_cast<const char *>(address)));
#else
  __builtin_prefetch(address, 1, 3);
#endif
}

}  // namespace shmring
