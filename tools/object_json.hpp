// `shmring list --json` and `shmring info NAME --json`: an object as JSON for
// monitoring systems, every field `shmring info` shows, in plain numbers.
#pragma once

#include <string>

#include "shmring/inspect.hpp"

namespace shmring::tool {

// One object as a JSON object (no trailing newline).
std::string object_json(const ObjectInfo &info);

// A JSON string literal: quoted, with control characters, quotes and
// backslashes escaped (caps text and error messages may hold any of them).
std::string json_string(const std::string &text);

}  // namespace shmring::tool
