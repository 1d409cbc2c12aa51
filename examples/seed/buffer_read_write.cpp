// The seed README's BufferReadWrite snippet: a producer writes an int into a
// named 1 KiB buffer; a consumer in another process, knowing only the name,
// reads it back. Both calls hold the buffer's read/write lock for the copy.
#include <cstdio>

#include "shmring/shared_buffer.hpp"
#include "two_processes.hpp"

int main(int argc, char **argv) {
  const bool consumer_role = example::is_consumer(argc, argv);
  const std::string name = "example-buffer-" + std::to_string(consumer_role ? getppid() : getpid());
  if (consumer_role) {
    auto consumer = shmring::SharedBuffer::open(name);
    int data = consumer.read<int>();
    std::printf("%d\n", data);
    return 0;
  }
  auto producer = shmring::SharedBuffer::create(name, 1024);
  int data = 123;
  producer.write(data);
  return example::run_consumer_process();
}
