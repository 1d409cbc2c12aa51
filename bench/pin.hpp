// Pins the calling process to one CPU, so that a benchmark's writer and
// reader run on two cores rather than wherever the scheduler puts them: on
// a 2-core machine two busy-polling processes on one core measure the
// scheduler, not the ring. No-op where there are fewer CPUs than asked.
#pragma once

#include <sched.h>
#include <unistd.h>

inline void pin_to_cpu(int cpu) {
  if (cpu >= sysconf(_SC_NPROCESSORS_ONLN))
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}
