#include "named_object.hpp"

#include "log.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "kind_traits.hpp"
#include "shmring/error.hpp"
#include "shmring/object_name.hpp"
#include "shmring/perms.hpp"

namespace shmring {

const char *object_kind_name(ObjectKind kind) {
  const object::KindTraits *traits = object::traits_of(kind);
  return traits ? traits->name : "object";
}

namespace object {

namespace {

// How long an object without an owner lock may look half-created before it
// counts as left behind by a creator that died: the creator takes its lock
// right after shm_open, so this only covers that instant.
constexpr auto kInitializingGrace = std::chrono::milliseconds(500);
// A claim whose claimer has not taken its lock after this long died while
// claiming; a reap not finished after this long died while reaping.
constexpr std::uint64_t kClaimGraceNs = 1'000'000'000;
constexpr std::uint64_t kReapGraceNs = 5'000'000'000;

std::uint64_t round_up(std::uint64_t value, std::uint64_t to) { return (value + to - 1) / to * to; }

std::vector<const KindTraits *> &registry() {
  static std::vector<const KindTraits *> kinds;
  return kinds;
}

Verdict verdict_of(Verdict::State state, std::string problem = {}) {
  Verdict verdict;
  verdict.state = state;
  verdict.problem = std::move(problem);
  return verdict;
}

}  // namespace

std::uint64_t monotonic_ns() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::uint64_t(now.tv_sec) * 1'000'000'000u + std::uint64_t(now.tv_nsec);
}

bool register_kind(const KindTraits &traits) {
  registry().push_back(&traits);
  return true;
}

const KindTraits *traits_of(ObjectKind kind) {
  for (const KindTraits *traits : registry()) {
    if (traits->kind == kind)
      return traits;
  }
  return nullptr;
}

bool compute_layout(const KindTraits &traits, const Params &params, Layout &out) {
  std::uint64_t control_size = 0, payload_size = 0;
  if (!traits.sizes(params, control_size, payload_size))
    return false;
  if (control_size > kMaxTotalSize || payload_size > kMaxTotalSize)
    return false;
  Layout layout;
  layout.control_offset = round_up(sizeof(ObjectHeader), kCacheLine);
  layout.control_size = control_size;
  // Page-aligned payloads: video planes and read-only mappings want it.
  layout.payload_offset = round_up(layout.control_offset + control_size, kPageSize);
  if (payload_size > kMaxTotalSize - layout.payload_offset)
    return false;
  layout.total_size = layout.payload_offset + payload_size;
  out = layout;
  return true;
}

std::string user_name(uid_t uid) {
  struct passwd entry;
  struct passwd *found = nullptr;
  char buffer[1024];
  if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found)
    return found->pw_name;
  return std::to_string(uid);
}

std::string describe(ObjectKind kind, const std::string &name) {
  return std::string(object_kind_name(kind)) + " '" + name + "'";
}

Verdict inspect(const ShmObject &object) {
  using State = Verdict::State;
  const std::uint64_t object_size = object.size();
  if (object_size == 0)
    return verdict_of(State::Initializing);
  if (object_size < 2 * sizeof(std::uint64_t))
    return verdict_of(State::Corrupt, "it is " + std::to_string(object_size) +
                                          " bytes, too small to hold a header");
  // Never map past what fstat says is there, nor a page it has not
  // reserved: either is SIGBUS (the second on a full /dev/shm). A creator
  // reserves everything before it writes the header.
  const std::uint64_t mapped = std::min<std::uint64_t>(object_size, sizeof(ObjectHeader));
  if (object.allocated() < mapped)
    return verdict_of(State::Initializing);
  Mapping mapping(object, 0, mapped, Mapping::Access::ReadOnly);
  std::uint64_t magic = 0;
  std::uint32_t abi_version = 0;
  std::memcpy(&magic, mapping.data(), sizeof magic);
  std::memcpy(&abi_version, mapping.data() + offsetof(ObjectHeader, abi_version),
              sizeof abi_version);
  if (magic == kLegacyRegionMagic)
    return verdict_of(State::OtherVersion,
                      "it was created by shmring 0.1 (its buffer/array/queue format)");
  if (magic == 0 && abi_version == 0)
    return verdict_of(State::Initializing);
  if (magic != kMagic)
    return verdict_of(State::Corrupt, "it is not a shmring object (bad magic number)");
  if (abi_version != kAbiVersion)
    return verdict_of(State::OtherVersion, "it was created by shmring ABI version " +
                                               std::to_string(abi_version) + ", this is version " +
                                               std::to_string(kAbiVersion));
  if (mapped < sizeof(ObjectHeader))
    return verdict_of(State::Corrupt, "it is " + std::to_string(object_size) +
                                          " bytes, too small to hold a header");

  const auto *shared = reinterpret_cast<const ObjectHeader *>(mapping.data());
  const std::uint32_t ready = shared->ready.load(std::memory_order_acquire);
  // Copy the write-once part, then judge only the copy: the owner (or
  // anybody with write access) may change the shared bytes meanwhile.
  ObjectHeader h;
  std::memcpy(static_cast<void *>(&h), shared, offsetof(ObjectHeader, ready));
  if (ready == 0)
    return verdict_of(State::Initializing);
  if (ready != 1)
    return verdict_of(State::Corrupt, "its ready word holds " + std::to_string(ready));
  if (h.header_size != sizeof(ObjectHeader))
    return verdict_of(State::Corrupt, "its header size is " + std::to_string(h.header_size) +
                                          ", expected " + std::to_string(sizeof(ObjectHeader)));
  const KindTraits *traits = traits_of(static_cast<ObjectKind>(h.kind));
  if (!traits)
    return verdict_of(State::OtherVersion,
                      "its kind " + std::to_string(h.kind) + " is unknown to this version");
  if (h.kind_version != traits->version)
    return verdict_of(State::OtherVersion,
                      "it is a " + std::string(traits->name) + " of layout version " +
                          std::to_string(h.kind_version) + ", this version reads " +
                          std::to_string(traits->version));
  if (h.max_participants != kMaxParticipants)
    return verdict_of(State::Corrupt, "its participant table holds " +
                                          std::to_string(h.max_participants) +
                                          " entries, expected " + std::to_string(kMaxParticipants));
  Layout layout;
  if (!compute_layout(*traits, h.params, layout))
    return verdict_of(State::Corrupt,
                      "its geometry (" + traits->describe_params(h.params) + ") is out of range");
  if (h.control_offset != layout.control_offset || h.control_size != layout.control_size ||
      h.payload_offset != layout.payload_offset || h.total_size != layout.total_size)
    return verdict_of(State::Corrupt, "its layout fields disagree with its geometry (" +
                                          traits->describe_params(h.params) + ")");
  if (layout.total_size > object_size)
    return verdict_of(State::Corrupt, "its header claims " + std::to_string(layout.total_size) +
                                          " bytes but the object has " +
                                          std::to_string(object_size));
  if (object.allocated() < layout.total_size)
    return verdict_of(State::Corrupt, "its memory is not reserved (" +
                                          std::to_string(object.allocated()) + " of " +
                                          std::to_string(layout.total_size) +
                                          " bytes): reading it could crash on a full /dev/shm");
  Verdict verdict = verdict_of(State::Ready);
  verdict.kind = traits->kind;
  verdict.params = h.params;
  verdict.layout = layout;
  verdict.owner_pid = h.owner_pid;
  return verdict;
}

namespace {

enum class Judgement { Stale, Initializing };

// Whether the object holding the name may be replaced. Throws while a live
// owner holds it, or when it is of another version (whose liveness this
// version cannot judge).
Judgement judge(const ShmObject &existing, ObjectKind creating, const std::string &name) {
  const std::string what = describe(creating, name);
  const uid_t owner = existing.owner_uid();
  const bool alive = owner_alive(existing);
  if (owner != geteuid() && alive)
    throw Error(ErrorCode::OwnerAlive,
                what + ": the name is held by an object of user " + user_name(owner) + " (uid " +
                    std::to_string(owner) +
                    "), which a live process owns; choose another name, or stop that process");
  const Verdict verdict = inspect(existing);
  if (alive) {
    if (verdict.state != Verdict::State::Ready)
      return Judgement::Initializing;  // a live creator is filling it in
    if (verdict.kind != creating)
      throw Error(ErrorCode::WrongKind, what + ": the name is taken by a " +
                                            object_kind_name(verdict.kind) + " of live process " +
                                            std::to_string(verdict.owner_pid));
    throw Error(ErrorCode::OwnerAlive,
                what +
                    (creating == ObjectKind::Ring ? " is already being written"
                                                  : " already exists, created") +
                    " by live process " + std::to_string(verdict.owner_pid) +
                    " (pid as seen in its own namespace)");
  }
  switch (verdict.state) {
    case Verdict::State::Ready:
    case Verdict::State::Corrupt: return Judgement::Stale;  // its owner is dead, or it is garbage
    case Verdict::State::Initializing:
      return Judgement::Initializing;  // a creator in the instant before its lock
    case Verdict::State::OtherVersion:
      throw Error(ErrorCode::VersionMismatch, what + " exists but " + verdict.problem +
                                                  "; stop its owner or remove /dev/shm" +
                                                  existing.path());
  }
  return Judgement::Stale;
}

// Opens what holds the name and waits while it is being created by a live
// process (or looks half-created, for a grace period). True: it is stale
// and was unlinked, or is gone; create again.
// What holds the name, opened read-only; false when nothing does.
bool open_holder(const std::string &path, ObjectKind creating, const std::string &name,
                 ShmObject &existing) {
  try {
    existing = ShmObject::open_read_only(path);
    return true;
  } catch (const Error &error) {
    if (error.code() == ErrorCode::NotFound)
      return false;
    if (error.code() == ErrorCode::PermissionDenied)
      throw Error(ErrorCode::PermissionDenied,
                  describe(creating, name) +
                      ": the name is held by an object of another user, which this "
                      "user can neither check nor replace (" +
                      error.what() + ")");
    throw;
  }
}

// Removes an object without an owner so that we may create under its name;
// an error when it is another user's, which this user may not remove.
void remove_for_creating(const ShmObject &existing, ObjectKind creating, const std::string &name,
                         const char *whose) {
  if (!remove_ownerless(existing) && existing.owner_uid() != geteuid() && geteuid() != 0)
    throw Error(ErrorCode::PermissionDenied,
                describe(creating, name) + ": the name is held by " + whose + " of user " +
                    user_name(existing.owner_uid()) +
                    ", which this user may not remove (`shmring clean` as that user or "
                    "root does)");
}

bool replace_if_stale(const std::string &path, ObjectKind creating, const std::string &name) {
  const Deadline grace_end = Clock::now() + kInitializingGrace;
  for (;;) {
    ShmObject existing;
    if (!open_holder(path, creating, name, existing))
      return true;  // gone meanwhile: just create again
    if (judge(existing, creating, name) == Judgement::Stale) {
      remove_for_creating(existing, creating, name, "a dead owner's object");
      SHMRING_LOG(Info, describe(creating, name) + ": replacing the object of dead process " +
                            std::to_string(inspect(existing).owner_pid));
      return true;
    }
    if (Clock::now() >= grace_end) {
      if (owner_alive(existing))
        throw Error(ErrorCode::OwnerAlive,
                    describe(creating, name) + " is being created by another live process");
      remove_for_creating(existing, creating, name, "a half-created object, whose creator died,");
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::uint64_t mapped_length(std::uint64_t mapped, const Layout &layout) {
  return mapped == 0 ? layout.total_size : std::min(mapped, layout.total_size);
}

}  // namespace

void write_header(ObjectHeader &header, ObjectKind kind, const Params &params,
                  const Layout &layout) {
  header.magic = kMagic;
  header.abi_version = kAbiVersion;
  header.header_size = sizeof(ObjectHeader);
  header.kind = static_cast<std::uint32_t>(kind);
  const KindTraits *traits = traits_of(kind);
  header.kind_version = traits ? traits->version : 0;
  header.total_size = layout.total_size;
  header.control_offset = layout.control_offset;
  header.control_size = layout.control_size;
  header.payload_offset = layout.payload_offset;
  header.params = params;
  header.owner_pid = getpid();
  header.max_participants = kMaxParticipants;
}

void check_name_free(const std::string &name, ObjectKind creating) {
  const std::string path = shm_path_for(name);
  ShmObject existing;
  if (open_holder(path, creating, name, existing))
    (void)judge(existing, creating, name);  // throws while a live owner holds it
}

Handle create(const std::string &name, ObjectKind kind, const Params &params, mode_t perms,
              const std::function<void(std::byte *control, const Layout &)> &init_control,
              std::uint64_t mapped, std::optional<gid_t> group) {
  const std::string path = shm_path_for(name);
  const KindTraits *traits = traits_of(kind);
  Layout layout;
  if (!traits || !compute_layout(*traits, params, layout))
    throw Error(ErrorCode::InvalidArgument,
                describe(kind, name) + ": " +
                    (traits ? traits->describe_params(params) : std::string("unknown kind")) +
                    " is out of range (at most " + std::to_string(kMaxTotalSize) +
                    " bytes in all)");

  const std::string perms_wrong = perms_problem(perms);
  if (!perms_wrong.empty())
    throw Error(ErrorCode::InvalidArgument, describe(kind, name) + ": " + perms_wrong);
  ShmObject object;
  for (int attempt = 0; attempt < 3 && !object.valid(); ++attempt) {
    object = ShmObject::create_exclusive(path);
    if (!object.valid())
      replace_if_stale(path, kind, name);
  }
  if (!object.valid())
    throw Error(ErrorCode::OwnerAlive,
                describe(kind, name) + " keeps being recreated by another process");
  // The owner lock before anything else: from now on the object has a live
  // owner, whatever its header says yet. Before it, the object looks
  // abandoned by its creator; had we been held up past the grace, somebody
  // may have removed it as such: then the name is not ours.
  if (!object.hold_byte(kOwnerLockByte) || !object.still_named()) {
    object.unlink_if_still_named();
    throw Error(ErrorCode::OwnerAlive, describe(kind, name) + " was taken over while created");
  }
  // Shared only once it has its group: until then it is its creator's
  // alone, so that nobody of the creator's own group opens it in passing
  // and keeps it open after the group changed.
  try {
    if (group)
      object.set_group(*group);
    object.set_mode(perms);
  } catch (const Error &) {
    object.unlink_if_still_named();
    throw;
  }
  object.reserve(layout.total_size);

  Handle handle;
  handle.mapping = Mapping(object, 0, mapped_length(mapped, layout), Mapping::Access::ReadWrite);
  // Zeroed memory already means: every participant entry Free.
  ObjectHeader *header = handle.header();
  write_header(*header, kind, params, layout);
  handle.name = name;
  handle.object = std::move(object);
  handle.kind = kind;
  handle.params = params;
  handle.layout = layout;
  handle.owner = true;
  init_control(handle.control(), layout);
  header->ready.store(1, std::memory_order_release);
  SHMRING_LOG(Info, describe(kind, name) + " created: " + traits->describe_params(params) + ", " +
                        std::to_string(layout.total_size) + " bytes");
  return handle;
}

bool remove_ownerless(const ShmObject &object) {
  // Judged ownerless a moment ago; a creator held up between shm_open and
  // its lock (not dead) could take the lock now. With the owner byte held
  // by us until the name is gone, it cannot (its create fails as taken
  // over, and it notices), and one that took it first keeps its object.
  if (!object.hold_byte(kOwnerLockByte))
    return false;
  const bool removed = object.unlink_if_still_named();
  object.release_byte(kOwnerLockByte);
  return removed;
}

bool abandoned_by_its_creator(const ShmObject &object) {
  return !owner_alive(object) && object.unchanged_for() >= kInitializingGrace;
}

namespace {

bool trusts(uid_t owner, std::optional<uid_t> trusted_owner) {
  return trusted_owner ? owner == *trusted_owner : owner == geteuid() || owner == 0;
}

Error untrusted(const std::string &what, uid_t owner, std::optional<uid_t> trusted_owner) {
  return Error(
      ErrorCode::PermissionDenied,
      what + " belongs to user " + user_name(owner) + " (uid " + std::to_string(owner) + "), " +
          (trusted_owner ? "not to the trusted owner (uid " + std::to_string(*trusted_owner) + ")"
                         : std::string("not to this user or root")) +
          ": name its owner as trusted to read it");
}

// Opens what holds the name, or says why it cannot be opened. A refusal by
// the kernel is judged by what holds the name (stat): an object that has no
// size yet is one its creator has not shared yet (group and mode come before
// the size), which is "not yet" when its owner is trusted; anybody else's is
// refused naming its owner; an object with a size is refused for good once
// the same one has been refused twice (once, it may have been shared just
// after the refusal, or replaced: a member must not be told no then).
ShmObject open_or_explain(const std::string &path, const std::string &what, bool read_only,
                          std::optional<uid_t> trusted_owner) {
  constexpr int kLooks = 8;
  std::optional<ShmObject::NameInfo> refused_before;
  for (int look = 0;; ++look) {
    try {
      return read_only ? ShmObject::open_read_only(path) : ShmObject::open_existing(path);
    } catch (const Error &error) {
      if (error.code() == ErrorCode::NotFound)
        throw Error(ErrorCode::NotFound, "no " + what + " exists (" + error.what() + ")");
      if (error.code() != ErrorCode::PermissionDenied)
        throw Error(error.code(), what + ": " + error.what());
      const std::optional<ShmObject::NameInfo> info = ShmObject::look_at(path);
      if (!info)
        throw Error(ErrorCode::NotFound, "no " + what + " exists (it went as it was opened)");
      if (!trusts(info->owner, trusted_owner))
        throw untrusted(what, info->owner, trusted_owner);
      if (!info->regular)
        throw Error(error.code(), what + ": " + error.what());
      if (info->size == 0)
        throw Error(ErrorCode::NotReady,
                    what + " is still being created (its writer has not yet shared it with " +
                        "this user)");
      if (refused_before && refused_before->same_object(*info))
        throw Error(error.code(), what + ": " + error.what());
      if (look + 1 == kLooks)
        throw Error(ErrorCode::NotReady, what + " was replaced each time it was opened");
      refused_before = info;
    }
  }
}

}  // namespace

Handle open(const std::string &name, ObjectKind kind, bool read_only, std::uint64_t mapped,
            std::optional<uid_t> trusted_owner) {
  const std::string path = shm_path_for(name);
  const std::string what = describe(kind, name);
  ShmObject object = open_or_explain(path, what, read_only, trusted_owner);
  // Judged before a byte of it is read: another local user could have put
  // anything under the name.
  const uid_t owner = object.owner_uid();
  if (!trusts(owner, trusted_owner))
    throw untrusted(what, owner, trusted_owner);
  const Verdict verdict = inspect(object);
  switch (verdict.state) {
    case Verdict::State::Ready: break;
    case Verdict::State::Initializing:
      // Its creator died before finishing it (SIGKILL in the instant after
      // creating the name): nobody would ever finish it, and a reader waiting
      // for a writer would find it in the way for good. Who may remove it
      // does, as a creator taking the name would.
      if (!read_only && abandoned_by_its_creator(object) && remove_ownerless(object))
        throw Error(ErrorCode::NotFound, "no " + what + " exists (a half-created one, whose " +
                                             "creator died, was removed)");
      throw Error(ErrorCode::NotReady, what + " is still being created");
    case Verdict::State::OtherVersion:
      throw Error(ErrorCode::VersionMismatch, what + ": " + verdict.problem);
    case Verdict::State::Corrupt:
      throw Error(ErrorCode::Corrupt, what + " is corrupt: " + verdict.problem);
  }
  if (verdict.kind != kind)
    throw Error(ErrorCode::WrongKind, "'" + name + "' is a " + object_kind_name(verdict.kind) +
                                          ", not a " + object_kind_name(kind));
  Handle handle;
  handle.mapping = Mapping(object, 0, mapped_length(mapped, verdict.layout),
                           read_only ? Mapping::Access::ReadOnly : Mapping::Access::ReadWrite);
  handle.name = name;
  handle.object = std::move(object);
  handle.kind = kind;
  handle.params = verdict.params;
  handle.layout = verdict.layout;
  return handle;
}

// ---- participants -------------------------------------------------------------

std::uint32_t Participants::join(const std::function<void(std::uint32_t)> &fill,
                                 const std::function<void(std::uint32_t)> &on_dead) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (std::uint32_t i = 0; i < kMaxParticipants; ++i) {
      Participant &entry = header_->participants[i];
      std::uint64_t raw = entry.word.load(std::memory_order_acquire);
      const ParticipantWord seen = ParticipantWord::decode(raw);
      if (seen.state != ParticipantState::Free)
        continue;
      const ParticipantWord claiming{ParticipantState::Claiming, seen.generation + 1};
      if (!entry.word.compare_exchange_strong(raw, claiming.encode(), std::memory_order_acq_rel))
        continue;
      entry.since_ns.store(monotonic_ns(), std::memory_order_relaxed);
      header_->occupied.fetch_or(std::uint64_t{1} << i, std::memory_order_seq_cst);
      if (!object_->hold_byte(participant_lock_byte(i))) {
        // Somebody holds a lock there that no participant should (a user
        // with read access can take shared locks on any byte): give the
        // entry back and try another.
        free_entry(i, claiming);
        continue;
      }
      if (entry.word.load(std::memory_order_acquire) != claiming.encode()) {
        // We were stopped so long that a reaper took the claim back (and
        // somebody may own the entry now): its fields are not ours to fill.
        object_->release_byte(participant_lock_byte(i));
        continue;
      }
      entry.pid.store(getpid(), std::memory_order_relaxed);
      fill(i);
      std::uint64_t expected = claiming.encode();
      const ParticipantWord active{ParticipantState::Active, claiming.generation};
      entry.since_ns.store(0, std::memory_order_relaxed);
      if (entry.word.compare_exchange_strong(expected, active.encode(), std::memory_order_seq_cst))
        return i;
      // Judged dead while we were claiming (we were stopped too long): the
      // entry is somebody else's business now; try another.
      object_->release_byte(participant_lock_byte(i));
    }
    reap(kNone, on_dead);
  }
  throw Error(ErrorCode::HandlesFull, what_ + " already has " + std::to_string(kMaxParticipants) +
                                          " participants (open handles or readers)");
}

void Participants::leave(std::uint32_t index) {
  Participant &entry = header_->participants[index];
  // Take our own entry as a reaper would, so that exactly one party (we, or
  // a reaper that found us gone) clears its occupied bit and frees it.
  std::uint64_t raw = entry.word.load(std::memory_order_acquire);
  const ParticipantWord seen = ParticipantWord::decode(raw);
  const ParticipantWord leaving{ParticipantState::Reaping, seen.generation + 1};
  const bool ours =
      seen.state == ParticipantState::Active &&
      entry.word.compare_exchange_strong(raw, leaving.encode(), std::memory_order_acq_rel);
  object_->release_byte(participant_lock_byte(index));
  if (ours)
    free_entry(index, leaving);
}

void Participants::free_entry(std::uint32_t index, const ParticipantWord &held) {
  Participant &entry = header_->participants[index];
  entry.pid.store(0, std::memory_order_relaxed);
  entry.since_ns.store(0, std::memory_order_relaxed);
  header_->occupied.fetch_and(~(std::uint64_t{1} << index), std::memory_order_acq_rel);
  std::uint64_t expected = held.encode();
  entry.word.compare_exchange_strong(
      expected, ParticipantWord{ParticipantState::Free, held.generation + 1}.encode(),
      std::memory_order_acq_rel);
}

std::uint32_t Participants::reap(std::uint32_t self,
                                 const std::function<void(std::uint32_t)> &on_dead) {
  std::uint32_t freed = 0;
  const std::uint64_t now = monotonic_ns();
  for (std::uint32_t i = 0; i < kMaxParticipants; ++i) {
    if (i == self)
      continue;
    Participant &entry = header_->participants[i];
    std::uint64_t raw = entry.word.load(std::memory_order_acquire);
    const ParticipantWord seen = ParticipantWord::decode(raw);
    if (seen.state == ParticipantState::Free)
      continue;
    const std::uint64_t since = entry.since_ns.load(std::memory_order_relaxed);
    if (seen.state == ParticipantState::Claiming || seen.state == ParticipantState::Reaping) {
      // In progress, or its process died in the middle: judge by how long.
      if (since == 0) {
        std::uint64_t zero = 0;
        entry.since_ns.compare_exchange_strong(zero, now);
        continue;
      }
      const std::uint64_t grace =
          seen.state == ParticipantState::Claiming ? kClaimGraceNs : kReapGraceNs;
      if (now < since || now - since < grace)
        continue;
    }
    if (object_->byte_held_exclusively_elsewhere(participant_lock_byte(i)))
      continue;  // alive (a claimer past its lock counts as alive too)
    const ParticipantWord reaping{ParticipantState::Reaping, seen.generation + 1};
    if (!entry.word.compare_exchange_strong(raw, reaping.encode(), std::memory_order_acq_rel))
      continue;  // somebody else moved it on
    entry.since_ns.store(now, std::memory_order_relaxed);
    on_dead(i);
    free_entry(i, reaping);
    ++freed;
  }
  return freed;
}

bool Participants::alive(std::uint32_t index) const {
  return active(index) && object_->byte_held_exclusively_elsewhere(participant_lock_byte(index));
}

pid_t Participants::pid(std::uint32_t index) const {
  return index < kMaxParticipants ? header_->participants[index].pid.load(std::memory_order_relaxed)
                                  : 0;
}

}  // namespace object
}  // namespace shmring
