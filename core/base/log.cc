#include "core/base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seamless {
namespace {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
// Both usable during static destruction: the mutex is constant-initialised, the role leaked.
ABSL_CONST_INIT absl::Mutex g_mu(absl::kConstInit);
std::string* g_role ABSL_PT_GUARDED_BY(g_mu) = new std::string("seamless");

// D, I, W or E: LogLevel's values (0 to 3) index the letters.
char LevelLetter(LogLevel level) {
  const int i = static_cast<int>(level);
  return i >= 0 && i <= 3 ? "DIWE"[i] : '?';
}
}  // namespace

void SetLogRole(const std::string& role) {
  absl::MutexLock lock(&g_mu);
  *g_role = role;
}
void SetMinLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }
LogLevel MinLogLevel() { return static_cast<LogLevel>(g_min_level.load()); }

namespace internal {
LogMessage::LogMessage(LogLevel level, const char* file, int line) : level_(level) {
  (void)file;
  (void)line;
}

LogMessage::~LogMessage() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  absl::MutexLock lock(&g_mu);
  std::fprintf(stderr, "%c %s.%03d %s] %s\n", LevelLetter(level_), stamp, ms, g_role->c_str(),
               stream_.str().c_str());
}
}  // namespace internal

}  // namespace seamless
