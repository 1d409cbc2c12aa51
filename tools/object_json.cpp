#include "object_json.hpp"

#include <cstdio>
#include <sstream>

namespace shmring::tool {

std::string json_string(const std::string &text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

const char *boolean(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string object_json(const ObjectInfo &info) {
  std::ostringstream out;
  out << "{\"name\": " << json_string(info.name)
      << ", \"kind\": " << json_string(object_kind_name(info.kind))
      << ", \"bytes\": " << info.bytes;
  if (!info.problem.empty()) {
    out << ", \"problem\": " << json_string(info.problem) << "}";
    return out.str();
  }
  out << ", \"owner_pid\": " << info.owner_pid
      << ", \"owner_alive\": " << boolean(info.owner_alive);
  switch (info.kind) {
    case ObjectKind::Ring:
      out << ", \"closed\": " << boolean(info.closed) << ", \"slots\": " << info.slots
          << ", \"slot_size\": " << info.slot_size << ", \"slots_in_use\": " << info.slots_in_use
          << ", \"frames\": " << info.frames << ", \"payload_bytes\": " << info.bytes_published
          << ", \"drops\": " << info.drops << ", \"caps\": " << json_string(info.caps)
          << ", \"readers\": [";
      for (std::size_t i = 0; i < info.readers.size(); ++i) {
        const RingReaderInfo &reader = info.readers[i];
        out << (i ? ", " : "") << "{\"pid\": " << reader.pid
            << ", \"alive\": " << boolean(reader.alive)
            << ", \"policy\": " << (reader.leaky ? "\"leaky\"" : "\"block\"")
            << ", \"draining\": " << boolean(reader.draining) << ", \"cursor\": " << reader.cursor
            << ", \"received\": " << reader.received << ", \"lost\": " << reader.lost
            << ", \"lag\": " << (info.frames > reader.cursor ? info.frames - reader.cursor : 0)
            << "}";
      }
      out << "]";
      break;
    case ObjectKind::Queue:
      out << ", \"node_size\": " << info.element_size << ", \"nodes\": " << info.element_count
          << ", \"written\": " << info.written << ", \"taken\": " << info.taken
          << ", \"abandoned\": " << info.abandoned << ", \"lost\": " << info.lost
          << ", \"handles\": " << info.handles;
      break;
    case ObjectKind::Buffer:
    case ObjectKind::Array:
      out << ", \"element_size\": " << info.element_size << ", \"elements\": " << info.element_count
          << ", \"lock_writer_pid\": " << info.lock_writer
          << ", \"lock_readers\": " << info.lock_readers << ", \"handles\": " << info.handles;
      break;
    case ObjectKind::Unknown: break;
  }
  out << "}";
  return out.str();
}

}  // namespace shmring::tool
