// Creates a shared buffer, a shared array and a queue under the given names,
// writes a little into each, prints "ready" and then holds them until killed:
// the CLI tests need objects owned by a live process, then by a dead one.
//
//   hold-objects BUFFER ARRAY QUEUE
#include <unistd.h>

#include <cstdio>

#include "shmring/circular_buffer.hpp"
#include "shmring/shared_array.hpp"
#include "shmring/shared_buffer.hpp"

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BUFFER ARRAY QUEUE\n", argv[0]);
    return 2;
  }
  auto buffer = shmring::SharedBuffer::create(argv[1], 1000);
  auto array = shmring::SharedArray<double>::create(argv[2], 16);
  auto queue = shmring::CircularBuffer::create(argv[3], 4, 512);
  array.set(3, 2.5);
  queue.write("one", 3);
  queue.write("two", 3);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;)
    pause();
}
