// The miss cost model against hand-computed cases (times in the comments are per layer for
// 1 MB experts), the policy switch, option parsing and the moving average of the rates.
#include "base/error.h"
#include "offload/miss_cost.h"

#include <doctest/doctest.h>

#include <vector>

#include <cmath>
#include <limits>

using namespace ferry;
using namespace ferry::offload;

namespace {

constexpr std::uint64_t kMB = 1'000'000;

MissRates rates(double upload, double cpu, double gpu, double cpu_fixed) {
    return {upload, cpu, gpu, cpu_fixed};
}

}  // namespace

TEST_CASE("auto: a fast CPU takes every miss, a fast link takes none") {
    // CPU 0.01 ms per expert vs copy 1 ms: all four to the CPU (finish 0.04 ms vs 4.08 ms).
    const MissCostModel fast_cpu(rates(1e9, 100e9, 100e9, 0), MissPolicy::Auto);
    CHECK(fast_cpu.cpu_share(4, kMB, 4) == 4);
    CHECK(fast_cpu.finish_seconds(0, 4, kMB, 4) == doctest::Approx(4.08e-3));
    CHECK(fast_cpu.finish_seconds(4, 4, kMB, 4) == doctest::Approx(0.04e-3));
    // Copy 0.01 ms per expert vs CPU 1 ms: copy them all.
    const MissCostModel fast_link(rates(100e9, 1e9, 100e9, 1e-4), MissPolicy::Auto);
    CHECK(fast_link.cpu_share(4, kMB, 4) == 0);
    // No misses: nothing to split, whatever the policy.
    for (MissPolicy p : {MissPolicy::Auto, MissPolicy::Copy, MissPolicy::Cpu})
        CHECK(MissCostModel(rates(1e9, 100e9, 100e9, 0), p).cpu_share(0, kMB, 8) == 0);
}

TEST_CASE("auto: at the crossover the misses are split between CPU and copies") {
    // Per expert: copy 0.1 ms, CPU 0.05 ms, GPU 0.005 ms; the CPU path costs 0.1 ms fixed.
    // 4 misses, 4 hits:  n   cpu    gpu     finish
    //                    0   0      0.44    0.44
    //                    1   0.15   0.335   0.335
    //                    2   0.20   0.23    0.23   <- best
    //                    3   0.25   0.125   0.25
    //                    4   0.30   0.02    0.30
    const MissCostModel m(rates(10e9, 20e9, 200e9, 1e-4), MissPolicy::Auto);
    CHECK(m.finish_seconds(0, 4, kMB, 4) == doctest::Approx(0.44e-3));
    CHECK(m.finish_seconds(1, 4, kMB, 4) == doctest::Approx(0.335e-3));
    CHECK(m.finish_seconds(2, 4, kMB, 4) == doctest::Approx(0.23e-3));
    CHECK(m.finish_seconds(3, 4, kMB, 4) == doctest::Approx(0.25e-3));
    CHECK(m.cpu_share(4, kMB, 4) == 2);
    // A faster link never gives the CPU more.
    std::uint32_t last = 4;
    for (double upload = 1e9; upload <= 1e12; upload *= 1.5) {
        const std::uint32_t n =
            MissCostModel(rates(upload, 20e9, 200e9, 1e-4), MissPolicy::Auto).cpu_share(4, kMB, 4);
        CHECK(n <= last);
        last = n;
    }
    CHECK(last == 0);
}

TEST_CASE("auto: near-ties go to copying, which also warms the cache") {
    // One miss, no hits: copy 0.1 + 0.01 ms = 0.11 ms.
    auto share = [](double cpu_rate) {
        return MissCostModel(rates(10e9, cpu_rate, 100e9, 1e-5), MissPolicy::Auto).cpu_share(1, kMB, 0);
    };
    CHECK(share(10e9) == 0);    // CPU 0.01 + 0.1 ms: an exact tie
    CHECK(share(10.2e9) == 0);  // about 0.108 ms: under 2% better, inside the margin
    CHECK(share(20e9) == 1);    // 0.06 ms: clearly better
}

TEST_CASE("copy and cpu policies force the answer") {
    CHECK(MissCostModel(rates(1e9, 100e9, 100e9, 0), MissPolicy::Copy).cpu_share(4, kMB, 4) == 0);
    CHECK(MissCostModel(rates(100e9, 1e9, 100e9, 1e-4), MissPolicy::Cpu).cpu_share(4, kMB, 4) == 4);
    CHECK(MissCostModel(rates(100e9, 1e9, 100e9, 1e-4), MissPolicy::Cpu).policy() == MissPolicy::Cpu);
}

TEST_CASE("miss policy names parse and print; bad names and bad rates are clear errors") {
    for (MissPolicy p : {MissPolicy::Auto, MissPolicy::Copy, MissPolicy::Cpu})
        CHECK(parse_miss_policy(name(p)) == p);
    CHECK(parse_miss_policy("cpu") == MissPolicy::Cpu);
    for (const char* bad : {"gpu", "", "Auto", "copy "}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(parse_miss_policy(bad), doctest::Contains("choose one of: auto, copy, cpu"),
                             Error);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(MissCostModel(rates(0, 1e9, 1e9, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, -1, 1e9, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, 1e9, nan, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, 1e9, 1e9, -1e-6), MissPolicy::Auto), Error);
    CHECK_NOTHROW(MissCostModel(MissRates{}, MissPolicy::Auto));
}

TEST_CASE("observations move the rates toward the samples and ignore nonsense") {
    MissCostModel m(rates(10e9, 20e9, 200e9, 1e-4), MissPolicy::Auto);
    m.observe_upload(2 * kMB, 1e-4);  // 20 GB/s: one step of alpha 0.2 from 10 GB/s
    CHECK(m.rates().upload_bytes_per_s == doctest::Approx(12e9));
    m.observe_cpu(kMB, 1e-4);  // 10 GB/s from 20 GB/s
    CHECK(m.rates().cpu_bytes_per_s == doctest::Approx(18e9));
    m.observe_cpu_fixed(2e-4);
    CHECK(m.rates().cpu_fixed_s == doctest::Approx(1.2e-4));
    CHECK(m.rates().gpu_bytes_per_s == 200e9);  // nothing observes the GPU rate

    const MissRates before = m.rates();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double s : {0.0, -1.0, nan, std::numeric_limits<double>::infinity()}) {
        m.observe_upload(kMB, s);
        m.observe_cpu(kMB, s);
        m.observe_cpu_fixed(s < 0 || !std::isfinite(s) ? s : 5.0);  // a 5 s layer is a stall
    }
    m.observe_upload(0, 1e-3);
    m.observe_cpu(1'000'000'000'000, 1e-3);  // 1 PB/s
    m.observe_upload(1, 1.0);                // 1 B/s
    CHECK(m.rates().upload_bytes_per_s == before.upload_bytes_per_s);
    CHECK(m.rates().cpu_bytes_per_s == before.cpu_bytes_per_s);
    CHECK(m.rates().cpu_fixed_s == before.cpu_fixed_s);

    for (int i = 0; i < 40; ++i) m.observe_upload(2 * kMB, 1e-4);
    CHECK(m.rates().upload_bytes_per_s == doctest::Approx(20e9).epsilon(1e-3));
}

TEST_CASE("the split follows the measured rates while running") {
    // Start believing the link is fast: copy everything. Then the copies turn out slow.
    MissCostModel m(rates(100e9, 20e9, 200e9, 1e-4), MissPolicy::Auto);
    CHECK(m.cpu_share(4, kMB, 4) == 0);
    for (int i = 0; i < 20; ++i) m.observe_upload(kMB, 1e-4);  // 10 GB/s
    CHECK(m.cpu_share(4, kMB, 4) == 2);                        // the crossover case above
}

TEST_CASE("prefill: the CPU takes the least-used misses while that finishes sooner") {
    // b = 10 bytes; upload and CPU 10 B/s (1 s per expert or per token), GPU 100 B/s.
    const MissCostModel model(rates(10, 10, 100, 0), MissPolicy::Auto);
    const std::vector<std::uint32_t> tokens{1, 1, 8};
    // n=0: max(0, 3 + 0.3) = 3.3; n=1: max(1, 2.2); n=2: max(2, 1.1) = 2; n=3: max(10, 0).
    CHECK(model.prefill_cpu_share(tokens, 10, 0) == 2);
    // Many tokens per expert: copying once beats the CPU's per-token cost.
    const std::vector<std::uint32_t> busy{20, 20, 20};
    CHECK(model.prefill_cpu_share(busy, 10, 0) == 0);
    CHECK(MissCostModel(rates(10, 10, 100, 0), MissPolicy::Copy).prefill_cpu_share(tokens, 10, 0) == 0);
    CHECK(MissCostModel(rates(10, 10, 100, 0), MissPolicy::Cpu).prefill_cpu_share(tokens, 10, 0) == 3);
}
