// The seed README's SharedArray snippet: a producer fills an array of ints
// and a consumer in another process reads its first and last element.
#include <cstdio>

#include "shmring/shared_array.hpp"
#include "two_processes.hpp"

int main(int argc, char **argv) {
  const bool consumer_role = example::is_consumer(argc, argv);
  const std::string name = "example-array-" + std::to_string(consumer_role ? getppid() : getpid());
  if (consumer_role) {
    auto consumer = shmring::SharedArray<int>::open(name);  // no length needed
    std::printf("%d\n", consumer.at(0));
    std::printf("%d\n", consumer.at(consumer.size() - 1));
    return 0;
  }
  auto producer = shmring::SharedArray<int>::create(name, 10);
  producer.set(0, 123);
  producer.set(producer.size() - 1, 456);
  return example::run_consumer_process();
}  // the producer owns the name: it is removed here
