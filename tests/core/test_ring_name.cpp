#include <gtest/gtest.h>

#include "shmring/error.hpp"
#include "shmring/ring_name.hpp"

using namespace shmring;

TEST(RingName, AcceptsPortableNames) {
  for (const char *name : {"cam0", "a", "Front.Door_2-hd", "..a", "a.."}) {
    EXPECT_EQ(ring_name_problem(name), "") << name;
    EXPECT_EQ(shm_path_for_ring(name), std::string("/shmring.") + name);
  }
  EXPECT_EQ(ring_name_problem(std::string(kMaxRingNameLength, 'x')), "");
}

TEST(RingName, RejectsWhatCouldEscapeOrConfuse) {
  for (const char *name : {"", ".", "..", "a/b", "/cam", "../etc", "cam 0", "cam\n",
                           "café", "a*b"}) {
    EXPECT_NE(ring_name_problem(name), "") << name;
    try {
      shm_path_for_ring(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error &error) {
      EXPECT_EQ(error.code(), ErrorCode::InvalidName);
      EXPECT_NE(std::string(error.what()).find("invalid ring name"), std::string::npos);
    }
  }
  EXPECT_NE(ring_name_problem(std::string(kMaxRingNameLength + 1, 'x')), "");
}
