// `shmring`: the rings, buffers, arrays and queues on this machine.
//
//   shmring list [--json]       one line per object: owner and liveness,
//                               readers, slots in use, frames, drops, caps
//   shmring info NAME [--json]  everything known about one object
//   shmring watch [--interval MS] [--count N]
//                               rings live: fps, MB/s, readers, each reader's
//                               lag and losses, redrawn every second
//   shmring clean         removes objects whose writer (or creator) is dead,
//                         and only those
#include <cstdio>
#include <cstdlib>
#include <string>

#include "object_json.hpp"
#include "shmring/error.hpp"
#include "shmring/inspect.hpp"
#include "watch.hpp"

namespace {

int usage(FILE *to) {
  std::fprintf(to,
               "usage: shmring list [--json]\n"
               "       shmring info NAME [--json]\n"
               "       shmring watch [--interval MS] [--count N]\n"
               "       shmring clean\n");
  return to == stdout ? 0 : 2;
}

std::string owner_text(const shmring::ObjectInfo &info) {
  if (!info.problem.empty())
    return "?";
  return std::to_string(info.owner_pid) + (info.owner_alive ? " alive" : " dead");
}

std::string shorten(const std::string &text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

// One object as `list` shows it; false when it went away meanwhile. One
// that cannot be looked at (another user's, say) is listed all the same,
// with why: "every object on this machine".
bool look(const std::string &name, shmring::ObjectInfo &info) {
  try {
    info = shmring::inspect_object(name);
  } catch (const shmring::Error &error) {
    if (error.code() == shmring::ErrorCode::NotFound)
      return false;
    info = shmring::ObjectInfo{};
    info.name = name;
    info.problem = error.what();
  }
  return true;
}

int list_json() {
  std::printf("[");
  bool first = true;
  for (const std::string &name : shmring::list_object_names()) {
    shmring::ObjectInfo info;
    if (!look(name, info))
      continue;
    std::printf("%s\n  %s", first ? "" : ",", shmring::tool::object_json(info).c_str());
    first = false;
  }
  std::printf("%s]\n", first ? "" : "\n");
  return 0;
}

int list() {
  std::printf("%-24s %-7s %-13s %-8s %-7s %-10s %-6s %s\n", "NAME", "KIND", "OWNER", "READERS",
              "IN-USE", "FRAMES", "DROPS", "CAPS / SHAPE");
  for (const std::string &name : shmring::list_object_names()) {
    shmring::ObjectInfo info;
    if (!look(name, info))
      continue;
    const char *kind = shmring::object_kind_name(info.kind);
    if (!info.problem.empty()) {
      std::printf("%-24s %-7s %-13s %-8s %-7s %-10s %-6s (%s)\n", name.c_str(), kind, "?", "-", "-",
                  "-", "-", info.problem.c_str());
    } else if (info.kind == shmring::ObjectKind::Ring) {
      const std::string in_use =
          std::to_string(info.slots_in_use) + "/" + std::to_string(info.slots);
      std::printf("%-24s %-7s %-13s %-8zu %-7s %-10llu %-6llu %s\n", name.c_str(), kind,
                  owner_text(info).c_str(), info.readers.size(), in_use.c_str(),
                  static_cast<unsigned long long>(info.frames),
                  static_cast<unsigned long long>(info.drops),
                  shorten(info.caps.empty() ? "-" : info.caps, 60).c_str());
    } else if (info.kind == shmring::ObjectKind::Queue) {
      const std::string queued =
          std::to_string(info.written - info.taken) + "/" + std::to_string(info.element_count);
      std::printf("%-24s %-7s %-13s %-8u %-7s %-10llu %-6llu %llu-byte nodes\n", name.c_str(), kind,
                  owner_text(info).c_str(), info.handles, queued.c_str(),
                  static_cast<unsigned long long>(info.written),
                  static_cast<unsigned long long>(info.abandoned + info.lost),
                  static_cast<unsigned long long>(info.element_size));
    } else {
      std::printf("%-24s %-7s %-13s %-8s %-7s %-10s %-6s %llu x %llu bytes\n", name.c_str(), kind,
                  owner_text(info).c_str(), "-", "-", "-", "-",
                  static_cast<unsigned long long>(info.element_count),
                  static_cast<unsigned long long>(info.element_size));
    }
  }
  return 0;
}

int info(const std::string &name, bool json) {
  shmring::ObjectInfo info;
  try {
    info = shmring::inspect_object(name);
  } catch (const shmring::Error &error) {
    std::fprintf(stderr, "shmring: %s\n", error.what());
    return 1;
  }
  if (json) {
    std::printf("%s\n", shmring::tool::object_json(info).c_str());
    return 0;
  }
  std::printf("name:          %s (/dev/shm/shmring.%s, %llu bytes)\n", name.c_str(), name.c_str(),
              static_cast<unsigned long long>(info.bytes));
  std::printf("kind:          %s\n", shmring::object_kind_name(info.kind));
  if (!info.problem.empty()) {
    std::printf("unreadable:    %s\n", info.problem.c_str());
    return 0;
  }
  const char *owner_role = info.kind == shmring::ObjectKind::Ring ? "writer" : "creator";
  std::printf("%-15s%s\n", (std::string(owner_role) + ":").c_str(), owner_text(info).c_str());
  switch (info.kind) {
    case shmring::ObjectKind::Ring:
      std::printf("state:         %s\n", info.closed ? "closed (EOS sent)" : "open");
      std::printf("slots:         %u of %llu bytes, %u in use\n", info.slots,
                  static_cast<unsigned long long>(info.slot_size), info.slots_in_use);
      std::printf("frames:        %llu published, %llu dropped by readers\n",
                  static_cast<unsigned long long>(info.frames),
                  static_cast<unsigned long long>(info.drops));
      std::printf("caps:          %s\n", info.caps.empty() ? "(none yet)" : info.caps.c_str());
      std::printf("readers:       %zu\n", info.readers.size());
      for (const auto &reader : info.readers)
        std::printf("  pid %-8d %-5s %-6s%s cursor %llu, received %llu, lost %llu\n", reader.pid,
                    reader.alive ? "alive" : "dead", reader.leaky ? "leaky" : "block",
                    reader.draining ? " (draining)" : "",
                    static_cast<unsigned long long>(reader.cursor),
                    static_cast<unsigned long long>(reader.received),
                    static_cast<unsigned long long>(reader.lost));
      break;
    case shmring::ObjectKind::Queue:
      std::printf("nodes:         %llu of %llu bytes\n",
                  static_cast<unsigned long long>(info.element_count),
                  static_cast<unsigned long long>(info.element_size));
      std::printf("items:         %llu written, %llu taken, %llu queued\n",
                  static_cast<unsigned long long>(info.written),
                  static_cast<unsigned long long>(info.taken),
                  static_cast<unsigned long long>(info.written - info.taken));
      std::printf("recovered:     %llu abandoned by writers, %llu lost by readers\n",
                  static_cast<unsigned long long>(info.abandoned),
                  static_cast<unsigned long long>(info.lost));
      std::printf("handles:       %u open in live processes\n", info.handles);
      break;
    case shmring::ObjectKind::Buffer:
    case shmring::ObjectKind::Array:
      std::printf("elements:      %llu of %llu bytes\n",
                  static_cast<unsigned long long>(info.element_count),
                  static_cast<unsigned long long>(info.element_size));
      std::printf("lock:          %s, %u reader(s)\n",
                  info.lock_writer ? ("written by pid " + std::to_string(info.lock_writer)).c_str()
                                   : "no writer",
                  info.lock_readers);
      break;
    case shmring::ObjectKind::Unknown: break;
  }
  return 0;
}

int clean() {
  const shmring::CleanReport report = shmring::clean_dead_objects();
  for (const auto &name : report.removed)
    std::printf("removed %s\n", name.c_str());
  for (const auto &[name, why] : report.kept)
    std::printf("kept    %s: %s\n", name.c_str(), why.c_str());
  if (report.removed.empty() && report.kept.empty())
    std::printf("no shmring objects\n");
  return 0;
}

// shmring watch [--interval MS] [--count N]
int watch_command(int argc, char **argv) {
  unsigned interval_ms = 1000, count = 0;
  for (int i = 2; i < argc; i += 2) {
    const std::string option = argv[i];
    if (i + 1 >= argc || (option != "--interval" && option != "--count"))
      return usage(stderr);
    char *end = nullptr;
    const unsigned long value = std::strtoul(argv[i + 1], &end, 10);
    if (*end != '\0' || value > 3600000)
      return usage(stderr);
    (option == "--interval" ? interval_ms : count) = static_cast<unsigned>(value);
  }
  return shmring::tool::watch(interval_ms, count);
}

}  // namespace

int main(int argc, char **argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    const bool json = argc > 2 && std::string(argv[argc - 1]) == "--json";
    if (command == "list" && argc == 2 + json)
      return json ? list_json() : list();
    if (command == "info" && argc == 3 + json)
      return info(argv[2], json);
    if (command == "watch")
      return watch_command(argc, argv);
    if (command == "clean" && argc == 2)
      return clean();
    if (command == "-h" || command == "--help" || command == "help")
      return usage(stdout);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "shmring: %s\n", error.what());
    return 1;
  }
  return usage(stderr);
}
