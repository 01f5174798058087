// Minimal leveled logging to stderr: `SLOG(INFO) << "loaded " << n << " tensors";`
// (Not LOG: LibTorch's headers bring glog, which owns that name.)
// One line per message with a timestamp and the role name set by SetLogRole().
#ifndef SEAMLESS_CORE_BASE_LOG_H_
#define SEAMLESS_CORE_BASE_LOG_H_

#include <sstream>
#include <string>

namespace seamless {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogRole(const std::string& role);
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace seamless

#define SEAMLESS_LOG_LEVEL_DEBUG ::seamless::LogLevel::kDebug
#define SEAMLESS_LOG_LEVEL_INFO ::seamless::LogLevel::kInfo
#define SEAMLESS_LOG_LEVEL_WARNING ::seamless::LogLevel::kWarning
#define SEAMLESS_LOG_LEVEL_ERROR ::seamless::LogLevel::kError

#define SLOG(level)                                             \
  if (SEAMLESS_LOG_LEVEL_##level < ::seamless::MinLogLevel()) { \
  } else                                                        \
    ::seamless::internal::LogMessage(SEAMLESS_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

#endif  // SEAMLESS_CORE_BASE_LOG_H_
