// The seed README's CircularBuffer snippet: a producer writes two ints into
// a 3-node queue of 4-byte nodes, and a consumer in another process reads
// them back in order. (In the seed a queue of N nodes holds N - 1 items; in
// shmring it holds N.)
#include <chrono>
#include <cstdio>

#include "shmring/circular_buffer.hpp"
#include "two_processes.hpp"

using namespace std::chrono_literals;

int main(int argc, char **argv) {
  const bool consumer_role = example::is_consumer(argc, argv);
  const std::string name = "example-queue-" + std::to_string(consumer_role ? getppid() : getpid());
  if (consumer_role) {
    auto consumer = shmring::CircularBuffer::open(name);  // node count and size from the header
    int data = 0;
    for (int i = 0; i < 2; ++i) {
      if (!consumer.read(&data, sizeof data, 1s))
        return 2;  // nothing arrived within a second
      std::printf("%d\n", data);
    }
    return 0;
  }
  auto producer = shmring::CircularBuffer::create(name, 3, sizeof(int));
  const int first = 123, second = 456;
  producer.write(&first, sizeof first);
  producer.write(&second, sizeof second);
  return example::run_consumer_process();
}
