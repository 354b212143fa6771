// File: handlespace/timer_wheel_test.cc

#include "handlespace/timer_wheel.h"

#include <algorithm>
#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::handlespace {
namespace {

TEST(TimerWheelTest, FiresAtDeadlineNotBefore) {
  TimerWheel wheel(8, 2);  // 8 buckets x 4 ticks = 32-tick revolution
  wheel.Resize(4);
  wheel.Arm(0, 10);
  wheel.Arm(1, 100);  // three revolutions ahead
  wheel.Arm(2, 11);
  std::vector<uint32_t> out;
  EXPECT_EQ(wheel.Expire(9, &out), 0u);
  EXPECT_EQ(wheel.Expire(10, &out), 1u);
  EXPECT_EQ(out, std::vector<uint32_t>{0});
  out.clear();
  EXPECT_EQ(wheel.Expire(99, &out), 1u);
  EXPECT_EQ(out, std::vector<uint32_t>{2});
  out.clear();
  EXPECT_EQ(wheel.Expire(100, &out), 1u);
  EXPECT_EQ(out, std::vector<uint32_t>{1});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CancelAndRearm) {
  TimerWheel wheel(16, 0);
  wheel.Resize(3);
  wheel.Arm(0, 5);
  wheel.Arm(1, 5);
  wheel.Arm(2, 5);
  wheel.Cancel(1);
  wheel.Arm(2, 50);
  std::vector<uint32_t> out;
  wheel.Expire(10, &out);
  EXPECT_EQ(out, std::vector<uint32_t>{0});
  EXPECT_FALSE(wheel.armed(0));
  EXPECT_TRUE(wheel.armed(2));
}

TEST(TimerWheelTest, PastDeadlineFiresNextCall) {
  TimerWheel wheel(16, 0);
  wheel.Resize(1);
  std::vector<uint32_t> out;
  wheel.Expire(100, &out);
  wheel.Arm(0, 3);
  EXPECT_EQ(wheel.Expire(101, &out), 1u);
}

TEST(TimerWheelTest, MatchesModelUnderRandomUse) {
  TimerWheel wheel(64, 3);
  wheel.Resize(200);
  std::map<uint32_t, Tick> model;
  uint64_t x = 99;
  Tick now = 0;
  for (int step = 0; step < 20000; ++step) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint32_t id = static_cast<uint32_t>((x >> 33) % 200);
    const uint32_t op = (x >> 20) % 10;
    if (op < 6) {
      const Tick d = now + 1 + (x >> 40) % 2000;
      wheel.Arm(id, d);
      model[id] = d;
    } else if (op < 7) {
      wheel.Cancel(id);
      model.erase(id);
    } else {
      now += (x >> 45) % 300;
      std::vector<uint32_t> out;
      wheel.Expire(now, &out);
      std::vector<uint32_t> expected;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= now) {
          expected.push_back(it->first);
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      std::sort(out.begin(), out.end());
      ASSERT_EQ(out, expected) << step;
    }
    ASSERT_EQ(wheel.size(), model.size());
  }
}

}  // namespace
}  // namespace rspd::handlespace
