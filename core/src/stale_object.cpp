#include "stale_object.hpp"

#include <cstring>
#include <thread>

#include "futex.hpp"
#include "header_check.hpp"
#include "layout.hpp"
#include "process_identity.hpp"
#include "region.hpp"
#include "shm_object.hpp"
#include "shmring/error.hpp"

namespace shmring {

namespace {

// How long an object that looks half-created may stay so before it counts
// as left behind by an owner that died while creating it.
constexpr auto kInitializingGrace = std::chrono::milliseconds(500);

enum class Judgement { Stale, Initializing };

// What holds the name, and whether that owner lives; throws for a live one.
Judgement judge(const ShmObject &existing, const std::string &what, ObjectFamily creating) {
  std::uint64_t magic = 0;
  if (existing.size() >= sizeof magic) {
    Mapping first(existing, 0, sizeof magic, Mapping::Access::ReadOnly);
    std::memcpy(&magic, first.data(), sizeof magic);
  }
  const ObjectFamily found = magic == region::kMagic ? ObjectFamily::Region : ObjectFamily::Ring;
  pid_t owner = 0;
  std::uint64_t owner_start = 0;
  std::string kind = "ring";
  if (found == ObjectFamily::Region) {
    const region::Verdict verdict = region::inspect(existing);
    switch (verdict.state) {
      case region::Verdict::State::Ready:
        owner = verdict.creator_pid;
        owner_start = verdict.creator_start_time;
        kind = region::kind_name(verdict.shape.kind);
        break;
      case region::Verdict::State::Initializing:
        return Judgement::Initializing;
      case region::Verdict::State::OtherVersion:
        throw Error(ErrorCode::VersionMismatch,
                    what + " exists but " + verdict.problem + "; remove /dev/shm" +
                        existing.path());
      case region::Verdict::State::Corrupt:
      case region::Verdict::State::NotARegion:
        return Judgement::Stale;
    }
  } else {
    const HeaderVerdict verdict = inspect_header(existing);
    switch (verdict.state) {
      case HeaderState::Ready:
        owner = verdict.writer_pid;
        owner_start = verdict.writer_start_time;
        break;
      case HeaderState::Initializing:
        return Judgement::Initializing;
      case HeaderState::OtherVersion:
        throw Error(ErrorCode::VersionMismatch,
                    what + " exists but " + verdict.problem +
                        "; stop its writer or remove /dev/shm" + existing.path());
      case HeaderState::Corrupt:
        return Judgement::Stale;  // garbage, or not ours at all
    }
  }
  if (!process_alive(owner, owner_start))
    return Judgement::Stale;
  if (found != creating)
    throw Error(ErrorCode::WrongKind, what + ": the name is taken by a " + kind +
                                          " of live process " + std::to_string(owner));
  throw Error(ErrorCode::WriterAlive,
              what + (found == ObjectFamily::Ring ? " is already being written"
                                                  : " already exists, created") +
                  " by live process " + std::to_string(owner));
}

}  // namespace

bool existing_object_is_stale(const std::string &path, const std::string &what,
                              ObjectFamily creating) {
  const Deadline grace_end = Clock::now() + kInitializingGrace;
  for (;;) {
    ShmObject existing;
    try {
      existing = ShmObject::open_existing(path);
    } catch (const Error &error) {
      if (error.code() == ErrorCode::NotFound)
        return true;  // gone meanwhile: just create again
      if (error.code() == ErrorCode::PermissionDenied)
        throw Error(ErrorCode::WriterAlive,
                    what + " exists and belongs to another user (" + error.what() + ")");
      throw;
    }
    if (judge(existing, what, creating) == Judgement::Stale)
      return true;
    if (Clock::now() >= grace_end)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace shmring
