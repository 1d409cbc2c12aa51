#include "shmring/inspect.hpp"

#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "kind_traits.hpp"
#include "named_object.hpp"
#include "shm_object.hpp"
#include "shmring/error.hpp"
#include "shmring/object_name.hpp"

namespace shmring {

namespace {

constexpr const char *kPrefix = "shmring.";

}  // namespace

std::vector<std::string> list_object_names() {
  std::vector<std::string> names;
  DIR *dir = opendir("/dev/shm");
  if (!dir)
    throw_system_error("cannot list /dev/shm", errno);
  const std::size_t prefix = std::strlen(kPrefix);
  while (const dirent *entry = readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.rfind(kPrefix, 0) == 0 && object_name_problem(file.substr(prefix)).empty())
      names.push_back(file.substr(prefix));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

ObjectInfo inspect_object(const std::string &name) {
  ShmObject object = ShmObject::open_read_only(shm_path_for(name));
  ObjectInfo info;
  info.name = name;
  info.bytes = object.size();
  // Liveness is the owner's lock, whatever the header says: even a corrupt
  // or half-created object may have a live owner.
  info.owner_alive = object::owner_alive(object);
  const object::Verdict verdict = object::inspect(object);
  switch (verdict.state) {
    case object::Verdict::State::Ready: {
      info.kind = verdict.kind;
      info.owner_pid = verdict.owner_pid;
      // Header and control block, read-only: payloads are none of our
      // business. (Participants only reads through it here.)
      Mapping mapping(object, 0, verdict.layout.payload_offset, Mapping::Access::ReadOnly);
      const object::Participants participants(
          reinterpret_cast<object::ObjectHeader *>(mapping.data()), object,
          object::describe(verdict.kind, name));
      for (std::uint32_t i = 0; i < object::kMaxParticipants; ++i)
        info.handles += participants.alive(i) ? 1 : 0;
      const object::Look look{verdict, mapping.data() + verdict.layout.control_offset,
                              participants};
      object::traits_of(verdict.kind)->describe(look, info);
      break;
    }
    case object::Verdict::State::Initializing:
      info.problem = object::abandoned_by_its_creator(object)
                         ? "left half-created by a creator that died (`shmring clean` removes "
                           "it, as does the next writer under the name)"
                         : "being created";
      break;
    case object::Verdict::State::Corrupt:
    case object::Verdict::State::OtherVersion: info.problem = verdict.problem; break;
  }
  return info;
}

CleanReport clean_dead_objects() {
  CleanReport report;
  for (const std::string &name : list_object_names()) {
    ShmObject object;
    try {
      object = ShmObject::open_read_only(shm_path_for(name));
    } catch (const Error &error) {
      if (error.code() != ErrorCode::NotFound)  // gone meanwhile: nothing to say
        report.kept.emplace_back(name, error.what());
      continue;
    }
    const object::Verdict verdict = object::inspect(object);
    if (verdict.state == object::Verdict::State::OtherVersion ||
        verdict.state == object::Verdict::State::Corrupt) {
      report.kept.emplace_back(name, verdict.problem);
      continue;
    }
    // Judged on the very object we unlink (same inode), by its owner's
    // lock: a live owner in any PID namespace keeps it.
    if (object::owner_alive(object)) {
      report.kept.emplace_back(name, verdict.state == object::Verdict::State::Ready
                                         ? std::string(object_kind_name(verdict.kind)) +
                                               " owned by live process " +
                                               std::to_string(verdict.owner_pid)
                                         : std::string("being created by a live process"));
      continue;
    }
    // Half-created, by a creator that has just shm_open'ed it (before its
    // lock) or that died doing so: the second, once it has stayed so.
    if (verdict.state == object::Verdict::State::Initializing &&
        !object::abandoned_by_its_creator(object)) {
      report.kept.emplace_back(name, "being created");
      continue;
    }
    // Only while the name still names it, and no owner took its lock
    // meanwhile: a new owner may have replaced it a moment ago.
    if (object::remove_ownerless(object))
      report.removed.push_back(name);
    else if (object.owner_uid() != geteuid() && geteuid() != 0)
      report.kept.emplace_back(name, "user " + object::user_name(object.owner_uid()) +
                                         "'s, which this user may not remove");
    else
      report.kept.emplace_back(name, "replaced, removed or taken by another process meanwhile");
  }
  return report;
}

}  // namespace shmring
