// Truth: the exact step sets of the reference's space_timesteps listed in paper-spec.md §5.6
// (computed with Python's round on the accumulated float stride).
#include <gtest/gtest.h>

#include <numeric>

#include "base/diffusion/respace.h"
#include "base/util/errors.h"

using repro::core::space_timesteps;

TEST(Respace, HundredSteps) {
  const std::vector<int> expected = {
      0,   10,  20,  30,  40,  50,  61,  71,  81,  91,  101, 111, 121, 131, 141, 151, 161, 172, 182, 192,
      202, 212, 222, 232, 242, 252, 262, 272, 283, 293, 303, 313, 323, 333, 343, 353, 363, 373, 383, 394,
      404, 414, 424, 434, 444, 454, 464, 474, 484, 494, 505, 515, 525, 535, 545, 555, 565, 575, 585, 595,
      605, 616, 626, 636, 646, 656, 666, 676, 686, 696, 706, 716, 727, 737, 747, 757, 767, 777, 787, 797,
      807, 817, 827, 838, 848, 858, 868, 878, 888, 898, 908, 918, 928, 938, 949, 959, 969, 979, 989, 999};
  EXPECT_EQ(space_timesteps(1000, "100"), expected);
}

TEST(Respace, EightySteps) {
  const std::vector<int> expected = {0,   13,  25,  38,  51,  63,  76,  89,  101, 114, 126, 139, 152, 164, 177, 190,
                                     202, 215, 228, 240, 253, 266, 278, 291, 303, 316, 329, 341, 354, 367, 379, 392,
                                     405, 417, 430, 443, 455, 468, 481, 493, 506, 518, 531, 544, 556, 569, 582, 594,
                                     607, 620, 632, 645, 658, 670, 683, 696, 708, 721, 733, 746, 759, 771, 784, 797,
                                     809, 822, 835, 847, 860, 873, 885, 898, 910, 923, 936, 948, 961, 974, 986, 999};
  EXPECT_EQ(space_timesteps(1000, "80"), expected);
}

TEST(Respace, SixtySteps) {
  const std::vector<int> expected = {0,   17,  34,  51,  68,  85,  102, 119, 135, 152, 169, 186, 203, 220, 237,
                                     254, 271, 288, 305, 322, 339, 356, 373, 389, 406, 423, 440, 457, 474, 491,
                                     508, 525, 542, 559, 576, 593, 610, 626, 643, 660, 677, 694, 711, 728, 745,
                                     762, 779, 796, 813, 830, 847, 864, 880, 897, 914, 931, 948, 965, 982, 999};
  EXPECT_EQ(space_timesteps(1000, "60"), expected);
}

TEST(Respace, ThreeHundredTwoHundredAndAll) {
  auto s300 = space_timesteps(1000, "300");
  ASSERT_EQ(s300.size(), 300u);
  EXPECT_EQ(std::vector<int>(s300.begin(), s300.begin() + 12),
            (std::vector<int>{0, 3, 7, 10, 13, 17, 20, 23, 27, 30, 33, 37}));
  EXPECT_EQ(std::vector<int>(s300.end() - 5, s300.end()), (std::vector<int>{986, 989, 992, 996, 999}));
  auto s200 = space_timesteps(1000, "200");
  ASSERT_EQ(s200.size(), 200u);
  EXPECT_EQ(s200[1], 5);
  EXPECT_EQ(s200[2], 10);
  EXPECT_EQ(s200.back(), 999);
  std::vector<int> all(1000);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(space_timesteps(1000, "1000"), all);
}

TEST(Respace, HalfToEvenTiesLikePython) {
  // "3" over 1000: stride 499.5 -> round(499.5) = 500 (even), and 999.
  EXPECT_EQ(space_timesteps(1000, "3"), (std::vector<int>{0, 500, 999}));
  // "3" over 998 sections of size 998: stride 498.5 -> round(498.5) = 498 (even).
  EXPECT_EQ(space_timesteps(998, "3"), (std::vector<int>{0, 498, 997}));
}

TEST(Respace, SectionsAndDdim) {
  // Two sections of 500: 2 steps in the first (0, 499), 3 in the second (500, 750 (749.5->750), 999).
  EXPECT_EQ(space_timesteps(1000, "2,3"), (std::vector<int>{0, 499, 500, 750, 999}));
  auto d = space_timesteps(1000, "ddim50");
  ASSERT_EQ(d.size(), 50u);
  EXPECT_EQ(d[1], 20);
  EXPECT_EQ(d.back(), 980);
}

TEST(Respace, BadRequestsNameTheKey) {
  try {
    space_timesteps(1000, "2000");
    FAIL() << "expected ConfigError";
  } catch (const repro::ConfigError& e) {
    EXPECT_EQ(e.key_path(), "timestep_respacing");
    EXPECT_NE(std::string(e.what()).find("1000"), std::string::npos);
  }
  EXPECT_THROW(space_timesteps(1000, "abc"), repro::ConfigError);
  EXPECT_THROW(space_timesteps(1000, "ddim400"), repro::ConfigError);  // strides 2, 3 give 500, 334
  EXPECT_THROW(space_timesteps(1000, "10,-1"), repro::ConfigError);
}
