#include <gtest/gtest.h>

#include "shmring/error.hpp"
#include "shmring/object_name.hpp"

using namespace shmring;

TEST(ObjectName, AcceptsPortableNames) {
  for (const char *name : {"cam0", "a", "Front.Door_2-hd", "..a", "a.."}) {
    EXPECT_EQ(object_name_problem(name), "") << name;
    EXPECT_EQ(shm_path_for(name), std::string("/shmring.") + name);
  }
  EXPECT_EQ(object_name_problem(std::string(kMaxObjectNameLength, 'x')), "");
}

TEST(ObjectName, RejectsWhatCouldEscapeOrConfuse) {
  for (const char *name :
       {"", ".", "..", "a/b", "/cam", "../etc", "cam 0", "cam\n", "café", "a*b"}) {
    EXPECT_NE(object_name_problem(name), "") << name;
    try {
      shm_path_for(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error &error) {
      EXPECT_EQ(error.code(), ErrorCode::InvalidName);
      EXPECT_NE(std::string(error.what()).find("invalid object name"), std::string::npos);
    }
  }
  EXPECT_NE(object_name_problem(std::string(kMaxObjectNameLength + 1, 'x')), "");
}
