#include "core/base/process_memory.h"

#include <malloc.h>

#include <cstdio>
#include <cstring>

namespace seamless {
namespace {

int64_t StatusKilobytes(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long long kb = 0;
  const size_t len = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, len) == 0 && line[len] == ':') {
      std::sscanf(line + len + 1, "%lld", &kb);
      break;
    }
  }
  std::fclose(f);
  return int64_t(kb) * 1024;
}

}  // namespace

int64_t PeakResidentBytes() { return StatusKilobytes("VmHWM"); }
int64_t ResidentBytesNow() { return StatusKilobytes("VmRSS"); }

void ReleaseFreedMemory() { malloc_trim(0); }

uint64_t MachineAvailableBytes() {
  FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return uint64_t(kb) * 1024;
}

}  // namespace seamless
