// This process's memory as the kernel counts it (/proc/self/status).
#ifndef SEAMLESS_CORE_BASE_PROCESS_MEMORY_H_
#define SEAMLESS_CORE_BASE_PROCESS_MEMORY_H_

#include <cstdint>

namespace seamless {

// Peak resident set size (VmHWM) in bytes; 0 where /proc is unavailable.
int64_t PeakResidentBytes();
// Current resident set size (VmRSS) in bytes; 0 where /proc is unavailable.
int64_t ResidentBytesNow();
// The machine's MemAvailable (/proc/meminfo) in bytes; 0 where unreadable.
uint64_t MachineAvailableBytes();
// Returns freed heap memory to the kernel (malloc_trim): after a large load whose temporaries
// would otherwise stay resident and count against the peak of what follows.
void ReleaseFreedMemory();

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_PROCESS_MEMORY_H_
