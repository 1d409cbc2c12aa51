#include "ring_growth.h"

#include <unistd.h>

#include <algorithm>

namespace shmring::gst {

std::uint64_t grown_slot_size(std::uint64_t current, std::uint64_t needed, bool sized_by_caps) {
  const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  std::uint64_t size = (needed + page - 1) / page * page;
  if (!sized_by_caps && current <= kMaxSlotSize / 2)
    size = std::max(size, current * 2);
  return std::max(std::min(size, kMaxSlotSize), needed);
}

std::vector<Follower> followers_expected(const std::vector<ReaderInfo> &old_readers) {
  std::vector<Follower> followers;
  for (const ReaderInfo &reader : old_readers)
    if (!reader.leaky)
      followers.push_back({reader.identity, reader.pid});
  return followers;
}

namespace {

// Splits `expected` into those among `readers` and those not.
void split_followers(const std::vector<Follower> &expected, const std::vector<ReaderInfo> &readers,
                     std::vector<Follower> &among, std::vector<Follower> &missing) {
  std::vector<bool> taken(readers.size(), false);
  for (const Follower &follower : expected) {
    bool found = false;
    for (std::size_t i = 0; i < readers.size() && !found; ++i) {
      const bool same = follower.identity != 0 ? readers[i].identity == follower.identity
                                               : readers[i].pid == follower.pid;
      if (same && !taken[i])
        taken[i] = found = true;
    }
    (found ? among : missing).push_back(follower);
  }
}

}  // namespace

std::vector<Follower> followers_missing(const std::vector<Follower> &expected,
                                        const std::vector<ReaderInfo> &readers) {
  std::vector<Follower> among, missing;
  split_followers(expected, readers, among, missing);
  return missing;
}

std::vector<Follower> followers_among(const std::vector<Follower> &expected,
                                      const std::vector<ReaderInfo> &readers) {
  std::vector<Follower> among, missing;
  split_followers(expected, readers, among, missing);
  return among;
}

std::uint64_t records_read(const std::vector<ReaderInfo> &readers) {
  std::uint64_t sum = 0;
  for (const ReaderInfo &reader : readers)
    sum += reader.received;
  return sum;
}

}  // namespace shmring::gst
