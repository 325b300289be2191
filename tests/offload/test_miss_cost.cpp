// The miss cost model against hand-computed cases (times in the comments are per layer for
// 1 MB experts), the policy switch, option parsing and the moving average of the rates.
#include "base/error.h"
#include "offload/miss_cost.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <cmath>
#include <limits>

using namespace ferry;
using namespace ferry::offload;

namespace {

constexpr std::uint64_t kMB = 1'000'000;

MissRates rates(double upload, double cpu, double gpu_pass, double cpu_fixed, bool shared = false) {
    return {.upload_bytes_per_s = upload,
            .cpu_bytes_per_s = cpu,
            .gpu_bytes_per_s = 100e9,
            .gpu_pass_s = gpu_pass,
            .cpu_fixed_s = cpu_fixed,
            .shared_cores = shared};
}

CpuSplit split(std::uint32_t misses, std::uint32_t hits) {
    return {misses, hits};
}

}  // namespace

TEST_CASE("auto: a fast CPU takes every miss, a fast link takes none") {
    // 4 misses, 4 hits, 8 slots. CPU 0.01 ms per expert vs copy 1 ms: all four misses to the
    // CPU (finish 0.04 ms vs 4 ms + one 0.04 ms pass); the hits stay on the GPU's pass.
    const MissCostModel fast_cpu(rates(1e9, 100e9, 40e-6, 0), MissPolicy::Auto);
    CHECK(fast_cpu.decode_split(4, 4, kMB, 8) == split(4, 0));
    CHECK(fast_cpu.decode_seconds({}, 4, 4, kMB, 8) == doctest::Approx(4.04e-3));
    CHECK(fast_cpu.decode_seconds(split(4, 0), 4, 4, kMB, 8) == doctest::Approx(0.04e-3));
    CHECK(fast_cpu.decode_seconds(split(4, 4), 4, 4, kMB, 8) == doctest::Approx(0.08e-3));
    // Copy 0.01 ms per expert vs CPU 1 ms: copy them all.
    const MissCostModel fast_link(rates(100e9, 1e9, 40e-6, 1e-4), MissPolicy::Auto);
    CHECK(fast_link.decode_split(4, 4, kMB, 8) == split(0, 0));
    // No misses and a GPU at least as fast: nothing moves, whatever the policy.
    for (MissPolicy p : {MissPolicy::Auto, MissPolicy::Copy, MissPolicy::Cpu})
        CHECK(MissCostModel(rates(1e9, 100e9, 40e-6, 0), p).decode_split(0, 8, kMB, 8) == split(0, 0));
}

TEST_CASE("auto: at the crossover the misses are split between CPU and copies") {
    // Per expert: copy 0.1 ms, CPU 0.05 ms; one GPU pass 0.02 ms; the CPU path 0.1 ms fixed.
    // 4 misses, 4 hits, 8 slots:  n   cpu    gpu     finish
    //                             0   0      0.42    0.42
    //                             1   0.15   0.32    0.32
    //                             2   0.20   0.22    0.22   <- best
    //                             3   0.25   0.12    0.25
    //                             4   0.30   0.02    0.30
    const MissCostModel m(rates(10e9, 20e9, 20e-6, 1e-4), MissPolicy::Auto);
    CHECK(m.decode_seconds(split(0, 0), 4, 4, kMB, 8) == doctest::Approx(0.42e-3));
    CHECK(m.decode_seconds(split(1, 0), 4, 4, kMB, 8) == doctest::Approx(0.32e-3));
    CHECK(m.decode_seconds(split(2, 0), 4, 4, kMB, 8) == doctest::Approx(0.22e-3));
    CHECK(m.decode_seconds(split(3, 0), 4, 4, kMB, 8) == doctest::Approx(0.25e-3));
    CHECK(m.decode_split(4, 4, kMB, 8) == split(2, 0));
    // A faster link never gives the CPU more.
    std::uint32_t last = 4;
    for (double upload = 1e9; upload <= 1e12; upload *= 1.5) {
        const CpuSplit s =
            MissCostModel(rates(upload, 20e9, 20e-6, 1e-4), MissPolicy::Auto).decode_split(4, 4, kMB, 8);
        CHECK(s.hits == 0);
        CHECK(s.misses <= last);
        last = s.misses;
    }
    CHECK(last == 0);
}

TEST_CASE("auto: with fewer slots than routes a route moved is a pass saved, so hits move too") {
    // One slot, 2 misses + 2 hits: copy 0.01 ms, CPU 0.05 ms, a pass 0.2 ms, CPU path 0.1 ms.
    //   all GPU: 0.02 + 4 passes = 0.82;  {2,0}: max(0.2, 2 passes 0.4) = 0.4;
    //   {2,1}: max(0.25, 0.2) = 0.25 <- best;  {2,2}: max(0.3, 0) = 0.3.
    const MissCostModel m(rates(100e9, 20e9, 200e-6, 1e-4), MissPolicy::Auto);
    CHECK(m.decode_seconds({}, 2, 2, kMB, 1) == doctest::Approx(0.82e-3));
    CHECK(m.decode_seconds(split(2, 1), 2, 2, kMB, 1) == doctest::Approx(0.25e-3));
    CHECK(m.decode_split(2, 2, kMB, 1) == split(2, 1));
    // With a slot per route the same rates keep the hits on the GPU: one pass either way.
    CHECK(m.decode_split(2, 2, kMB, 4) == split(2, 0));
}

TEST_CASE("auto: a device on the host's own cores adds the two sides instead of overlapping them") {
    // The crossover rates above, shared: {2,0} = 0.2 + 0.22 = 0.42 (no gain) while giving the
    // CPU every miss costs 0.30 + 0.02 = 0.32, the best.
    const MissCostModel shared(rates(10e9, 20e9, 20e-6, 1e-4, true), MissPolicy::Auto);
    CHECK(shared.decode_seconds(split(2, 0), 4, 4, kMB, 8) == doctest::Approx(0.42e-3));
    CHECK(shared.decode_split(4, 4, kMB, 8) == split(4, 0));
    // lavapipe-like: a 6 ms pass against 0.33 ms per expert on the CPU. Everything goes to
    // the CPU (1.43 ms) rather than the misses alone (0.77 + 6 ms) or nothing (0.4 + 6 ms).
    const MissCostModel lavapipe(rates(5e9, 3e9, 6e-3, 1e-4, true), MissPolicy::Auto);
    CHECK(lavapipe.decode_split(2, 2, kMB, 8) == split(2, 2));
    CHECK(lavapipe.decode_seconds(split(2, 2), 2, 2, kMB, 8) == doctest::Approx(1.4333e-3).epsilon(1e-3));
    // There copying experts in buys nothing; with the crossover rates it does.
    CHECK_FALSE(lavapipe.gpu_worth_caching(4, kMB));
    CHECK(shared.gpu_worth_caching(4, kMB));
    // The cpu policy still leaves the hits to the GPU.
    CHECK(MissCostModel(rates(5e9, 3e9, 6e-3, 1e-4, true), MissPolicy::Cpu).decode_split(2, 2, kMB, 8) ==
          split(2, 0));
}

TEST_CASE("auto: near-ties go to copying, which also warms the cache") {
    // One miss, no hits, one slot: copy 0.1 ms + a 0.01 ms pass = 0.11 ms.
    auto share = [](double cpu_rate) {
        return MissCostModel(rates(10e9, cpu_rate, 1e-5, 1e-5), MissPolicy::Auto).decode_split(1, 0, kMB, 1);
    };
    CHECK(share(10e9) == split(0, 0));    // CPU 0.01 + 0.1 ms: an exact tie
    CHECK(share(10.2e9) == split(0, 0));  // about 0.108 ms: under 2% better, inside the margin
    CHECK(share(20e9) == split(1, 0));    // 0.06 ms: clearly better
}

TEST_CASE("copy and cpu policies force the answer") {
    CHECK(MissCostModel(rates(1e9, 100e9, 1e-3, 0), MissPolicy::Copy).decode_split(4, 4, kMB, 8) ==
          split(0, 0));
    CHECK(MissCostModel(rates(100e9, 1e9, 1e-6, 1e-4), MissPolicy::Cpu).decode_split(4, 4, kMB, 8) ==
          split(4, 0));
    CHECK(MissCostModel(rates(100e9, 1e9, 1e-6, 1e-4), MissPolicy::Cpu).policy() == MissPolicy::Cpu);
    for (MissPolicy p : {MissPolicy::Copy, MissPolicy::Cpu})
        CHECK(MissCostModel(rates(5e9, 3e9, 6e-3, 1e-4, true), p).gpu_worth_caching(4, kMB));
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
    CHECK_THROWS_AS(MissCostModel(rates(0, 1e9, 1e-4, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, -1, 1e-4, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, 1e9, nan, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, 1e9, 0, 0), MissPolicy::Auto), Error);
    CHECK_THROWS_AS(MissCostModel(rates(1e9, 1e9, 1e-4, -1e-6), MissPolicy::Auto), Error);
    CHECK_NOTHROW(MissCostModel(MissRates{}, MissPolicy::Auto));
}

TEST_CASE("observations move the rates toward the samples and ignore nonsense") {
    MissCostModel m(rates(10e9, 20e9, 20e-6, 1e-4), MissPolicy::Auto);
    m.observe_upload(2 * kMB, 1e-4);  // 20 GB/s: one step of alpha 0.2 from 10 GB/s
    CHECK(m.rates().upload_bytes_per_s == doctest::Approx(12e9));
    m.observe_cpu(kMB, 1e-4);  // 10 GB/s from 20 GB/s
    CHECK(m.rates().cpu_bytes_per_s == doctest::Approx(18e9));
    m.observe_cpu_fixed(2e-4);
    CHECK(m.rates().cpu_fixed_s == doctest::Approx(1.2e-4));
    m.observe_gpu_pass(120e-6);
    CHECK(m.rates().gpu_pass_s == doctest::Approx(40e-6));
    CHECK(m.rates().gpu_bytes_per_s == 100e9);  // only prefill chunks move the prefill rate
    m.observe_gpu_prefill(kMB, 1e-5);           // 100 GB/s: no change
    CHECK(m.rates().gpu_bytes_per_s == doctest::Approx(100e9));
    m.observe_gpu_prefill(kMB, 2e-5);  // 50 GB/s
    CHECK(m.rates().gpu_bytes_per_s == doctest::Approx(90e9));

    const MissRates before = m.rates();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double s : {0.0, -1.0, nan, std::numeric_limits<double>::infinity()}) {
        m.observe_upload(kMB, s);
        m.observe_cpu(kMB, s);
        m.observe_cpu_fixed(s < 0 || !std::isfinite(s) ? s : 5.0);  // a 5 s layer is a stall
        m.observe_gpu_pass(s == 0 ? 5.0 : s);
    }
    m.observe_upload(0, 1e-3);
    m.observe_cpu(1'000'000'000'000, 1e-3);  // 1 PB/s
    m.observe_upload(1, 1.0);                // 1 B/s
    CHECK(m.rates().upload_bytes_per_s == before.upload_bytes_per_s);
    CHECK(m.rates().cpu_bytes_per_s == before.cpu_bytes_per_s);
    CHECK(m.rates().cpu_fixed_s == before.cpu_fixed_s);
    CHECK(m.rates().gpu_pass_s == before.gpu_pass_s);
    m.observe_gpu_prefill(kMB, nan);
    m.observe_gpu_prefill(0, 1e-3);
    CHECK(m.rates().gpu_bytes_per_s == before.gpu_bytes_per_s);

    for (int i = 0; i < 40; ++i) m.observe_upload(2 * kMB, 1e-4);
    CHECK(m.rates().upload_bytes_per_s == doctest::Approx(20e9).epsilon(1e-3));
}

TEST_CASE("the split follows the measured rates while running") {
    // Start believing the link is fast: copy everything. Then the copies turn out slow.
    MissCostModel m(rates(100e9, 20e9, 20e-6, 1e-4), MissPolicy::Auto);
    CHECK(m.decode_split(4, 4, kMB, 8) == split(0, 0));
    for (int i = 0; i < 20; ++i) m.observe_upload(kMB, 1e-4);  // 10 GB/s (the average reaches 11)
    CHECK(m.decode_split(4, 4, kMB, 8) == split(2, 0));        // the crossover case above
    // And a GPU pass that turns out slow (a clocked-down or busy device) sends work over.
    for (int i = 0; i < 30; ++i) m.observe_gpu_pass(1e-3);
    CHECK(m.decode_split(4, 4, kMB, 8) == split(4, 4));
}

TEST_CASE("prefill: the CPU takes the least-used misses while that finishes sooner") {
    // b = 10 bytes; upload and CPU 10 B/s (1 s per expert or per token), GPU 100 B/s.
    auto model = [](MissPolicy p, double upload, double gpu) {
        MissRates r = rates(upload, 10, 1e-4, 0);
        r.gpu_bytes_per_s = gpu;
        return MissCostModel(r, p);
    };
    const std::vector<std::uint32_t> tokens{1, 1, 8}, none;
    // n=0: max(0, 3 + 0.3) = 3.3; n=1: max(1, 2.2); n=2: max(2, 1.1) = 2; n=3: max(10, 0).
    CHECK(model(MissPolicy::Auto, 10, 100).prefill_split(tokens, none, 10) == split(2, 0));
    CHECK(model(MissPolicy::Auto, 10, 100).prefill_seconds(split(2, 0), tokens, none, 10) ==
          doctest::Approx(2));
    // Many tokens per expert: copying once beats the CPU's per-token cost.
    const std::vector<std::uint32_t> busy{20, 20, 20};
    CHECK(model(MissPolicy::Auto, 10, 100).prefill_split(busy, none, 10) == split(0, 0));
    CHECK(model(MissPolicy::Copy, 10, 100).prefill_split(tokens, none, 10) == split(0, 0));
    CHECK(model(MissPolicy::Cpu, 10, 100).prefill_split(tokens, tokens, 10) == split(3, 0));
    // A GPU slower than the CPU at a lightly used expert: the CPU takes the least-used hit.
    // Hits used by 1 and 4 tokens, GPU 5 B/s (2 s each): all GPU 4 s; {0,1} max(1, 2) = 2;
    // {0,2} max(5, 0) = 5.
    const std::vector<std::uint32_t> hits{1, 4};
    CHECK(model(MissPolicy::Auto, 100, 5).prefill_split(none, hits, 10) == split(0, 1));
}

TEST_CASE(
    "prefill: the chosen split is the fastest of all as prefill_seconds prices them, bar the copy margin") {
    MissRates r = rates(8e9, 15e9, 1e-4, 2e-4);
    r.gpu_bytes_per_s = 60e9;
    const MissCostModel model(r, MissPolicy::Auto);
    std::uint32_t seed = 7;
    auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) % 9 + 1; };
    for (int round = 0; round < 20; ++round) {
        std::vector<std::uint32_t> misses(next()), hits(next());
        for (auto& t : misses) t = next();
        for (auto& t : hits) t = next();
        std::sort(misses.begin(), misses.end());
        std::sort(hits.begin(), hits.end());
        const CpuSplit chosen = model.prefill_split(misses, hits, kMB);
        const double chosen_s = model.prefill_seconds(chosen, misses, hits, kMB);
        double best_s = chosen_s;
        for (std::uint32_t m = 0; m <= misses.size(); ++m)
            for (std::uint32_t h = 0; h <= hits.size(); ++h)
                best_s = std::min(best_s, model.prefill_seconds(split(m, h), misses, hits, kMB));
        if (chosen == split(0, 0))  // all on the GPU unless a split is kCopyMargin faster
            CHECK(best_s >= chosen_s * (1 - MissCostModel::kCopyMargin) * (1 - 1e-12));
        else
            CHECK(chosen_s <= best_s * (1 + 1e-12));
    }
}
