#include "base/timing.h"

#include <doctest/doctest.h>

#include <thread>

using namespace ferry;

TEST_CASE("samples: mean and sample standard deviation") {
    CHECK(Samples{}.mean() == 0);
    CHECK(Samples{}.sd() == 0);
    CHECK(Samples{{5}}.sd() == 0);
    const Samples s{{2, 4, 4, 4, 5, 5, 7, 9}};
    CHECK(s.mean() == doctest::Approx(5));
    CHECK(s.sd() == doctest::Approx(2.13809).epsilon(1e-5));  // sqrt(32 / 7)
}

TEST_CASE("seconds_since counts forward") {
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const double s = seconds_since(t0);
    CHECK(s >= 0.002);
    CHECK(s < 10);
}
