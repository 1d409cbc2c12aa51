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

std::vector<pid_t> followers_expected(const std::vector<ReaderInfo> &old_readers) {
  std::vector<pid_t> pids;
  for (const ReaderInfo &reader : old_readers)
    if (!reader.leaky)
      pids.push_back(reader.pid);
  return pids;
}

bool followers_attached(const std::vector<pid_t> &expected,
                        const std::vector<ReaderInfo> &new_readers) {
  for (pid_t pid : expected) {
    const auto wanted = std::count(expected.begin(), expected.end(), pid);
    const auto there = std::count_if(new_readers.begin(), new_readers.end(),
                                     [pid](const ReaderInfo &r) { return r.pid == pid; });
    if (there < wanted)
      return false;
  }
  return true;
}

}  // namespace shmring::gst
