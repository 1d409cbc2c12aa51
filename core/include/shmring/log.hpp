// What the core has to say: objects created and replaced, readers joining,
// leaving and reclaimed, shared state found implausible, waits for space.
// Silent until the application installs a handler (the GStreamer plugin
// routes it into GST_DEBUG, category "shmringcore").
#pragma once

#include <string>

namespace shmring {

enum class LogLevel { Warning = 1, Info = 2, Debug = 3 };

// Called from any thread the core runs in, while that thread is in a core
// call: keep it quick, and do not call back into the handle that logs.
using LogHandler = void (*)(LogLevel level, const char *message, void *user_data);

// Installs (or, with nullptr, removes) the process-wide handler. Messages
// above `max_level` are not even formatted.
void set_log_handler(LogHandler handler, void *user_data, LogLevel max_level = LogLevel::Debug);

}  // namespace shmring
