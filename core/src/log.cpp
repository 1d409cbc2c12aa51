#include "log.hpp"

#include <atomic>
#include <mutex>

namespace shmring {

namespace {

// Read on every would-be message: one relaxed load when nobody listens.
std::atomic<int> max_enabled{0};
std::mutex handler_lock;
LogHandler handler = nullptr;
void *handler_data = nullptr;

}  // namespace

void set_log_handler(LogHandler new_handler, void *user_data, LogLevel max_level) {
  std::lock_guard<std::mutex> guard(handler_lock);
  handler = new_handler;
  handler_data = user_data;
  max_enabled.store(new_handler ? static_cast<int>(max_level) : 0, std::memory_order_relaxed);
}

namespace log {

bool enabled(LogLevel level) {
  return static_cast<int>(level) <= max_enabled.load(std::memory_order_relaxed);
}

void emit(LogLevel level, const std::string &message) {
  LogHandler to;
  void *data;
  {
    std::lock_guard<std::mutex> guard(handler_lock);
    to = handler;
    data = handler_data;
  }
  if (to && enabled(level))
    to(level, message.c_str(), data);
}

}  // namespace log

}  // namespace shmring
