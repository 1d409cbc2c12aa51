// How long the other side takes to notice a peer killed with SIGKILL and to
// recover, measured with the core library and real processes, N times each:
//   reader killed while the writer waits on it: until the writer's next write
//     completes (its entry and held slots reclaimed);
//   writer killed while a reader waits: until the reader's next() says so;
//   stale ring: how long a new writer takes to replace a dead writer's ring.
// Prints median and worst case in milliseconds.
//
//   fault-recovery [N]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "shmring/error.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Clock::time_point in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

void report(const char *what, std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  std::printf("%-44s median %7.1f ms   worst %7.1f ms   (%zu runs)\n", what,
              samples[samples.size() / 2], samples.back(), samples.size());
}

std::shared_ptr<shmring::Reader> open_when_there(const std::string &name) {
  for (int i = 0; i < 5000; ++i) {
    try {
      return shmring::Reader::open({name, false});
    } catch (const shmring::Error &) {
      usleep(1000);
    }
  }
  std::fprintf(stderr, "ring %s never appeared\n", name.c_str());
  std::exit(1);
}

double reader_killed(const std::string &name) {
  auto writer = shmring::Writer::create({name, 2, 64});
  int ready[2];
  if (pipe(ready) != 0)
    std::exit(1);
  pid_t child = fork();
  if (child == 0) {
    auto reader = shmring::Reader::open({name, false});
    char c = 'x';
    (void)!write(ready[1], &c, 1);
    pause();  // blocking policy, reads nothing: the writer must wait on it
    _exit(0);
  }
  char c;
  (void)!read(ready[0], &c, 1);
  close(ready[0]);
  close(ready[1]);
  shmring::RecordHeader info;
  writer->write(info, nullptr, in(1000));
  writer->write(info, nullptr, in(1000));  // both slots unread now
  kill(child, SIGKILL);
  const auto killed = Clock::now();
  waitpid(child, nullptr, 0);
  if (writer->write(info, nullptr, in(10000)) != shmring::WaitStatus::Ok ||
      writer->stats().overruns != 0)
    std::exit(1);
  return ms_since(killed);
}

double writer_killed(const std::string &name) {
  pid_t child = fork();
  if (child == 0) {
    auto writer = shmring::Writer::create({name, 2, 64});
    pause();
    _exit(0);
  }
  auto reader = open_when_there(name);
  usleep(20000);  // the reader is asleep in next() when the writer dies
  kill(child, SIGKILL);
  const auto killed = Clock::now();
  waitpid(child, nullptr, 0);
  shmring::Frame frame;
  if (reader->next(frame, in(10000)) != shmring::ReadStatus::WriterDead)
    std::exit(1);
  const double noticed = ms_since(killed);
  reader.reset();
  shmring::Writer::create({name, 2, 64});  // tidy up: replace the stale ring, close it
  return noticed;
}

double stale_replaced(const std::string &name) {
  pid_t child = fork();
  if (child == 0) {
    auto writer = shmring::Writer::create({name, 2, 64});
    _exit(0);  // no close: the ring stays, as after a crash
  }
  waitpid(child, nullptr, 0);
  const auto start = Clock::now();
  auto writer = shmring::Writer::create({name, 2, 64});
  return ms_since(start);
}

}  // namespace

int main(int argc, char **argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 10;
  const std::string name = "bench-faults-" + std::to_string(getpid());
  std::vector<double> reader, writer, stale;
  for (int i = 0; i < runs; ++i) {
    reader.push_back(reader_killed(name));
    writer.push_back(writer_killed(name));
    stale.push_back(stale_replaced(name));
  }
  report("reader killed: writer reclaims, writes on", reader);
  report("writer killed: waiting reader told WriterDead", writer);
  report("stale ring replaced by a new writer", stale);
  return 0;
}
