#include "base/error.h"
#include "sample/sampler.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

using namespace ferry;
using namespace ferry::sample;

namespace {

SamplerConfig plain(float temperature, std::uint64_t seed = 1) {
    SamplerConfig c;
    c.temperature = temperature;
    c.top_k = 0;
    c.top_p = 1.f;
    c.min_p = 0.f;
    c.seed = seed;
    return c;
}

std::map<int, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
    std::map<int, int> h;
    for (int i = 0; i < draws; ++i) ++h[s.sample(logits)];
    return h;
}

}  // namespace

TEST_CASE("temperature 0 is greedy, ties to the lower id") {
    Sampler s(plain(0.f));
    CHECK(s.sample(std::vector<float>{0.1f, 2.f, -1.f, 2.f}) == 1);
    CHECK(argmax(std::vector<float>{3, 1, 3}) == 0);
}

TEST_CASE("sampling follows the softmax distribution") {
    // p = softmax(log 1, log 3) = (0.25, 0.75); 20000 draws: sd of the count ~ 61.
    Sampler s(plain(1.f, 42));
    auto h = histogram(s, {0.f, std::log(3.f)}, 20000);
    CHECK(h[1] == doctest::Approx(15000).epsilon(0.03));
    // Temperature 0.5 squares the odds: (1, 9) / 10.
    Sampler t(plain(0.5f, 7));
    auto g = histogram(t, {0.f, std::log(3.f)}, 20000);
    CHECK(g[1] == doctest::Approx(18000).epsilon(0.02));
}

TEST_CASE("the same seed draws the same tokens") {
    std::vector<float> logits{0.3f, 0.2f, 0.1f, 0.f, -0.1f};
    Sampler a(plain(1.f, 99)), b(plain(1.f, 99));
    for (int i = 0; i < 50; ++i) CHECK(a.sample(logits) == b.sample(logits));
}

TEST_CASE("top-k, top-p and min-p cut the tail") {
    const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    SamplerConfig k = plain(1.f, 3);
    k.top_k = 2;
    Sampler sk(k);
    for (auto [id, n] : histogram(sk, logits, 2000)) CHECK(id < 2);

    SamplerConfig p = plain(1.f, 4);
    p.top_p = 0.75f;  // 0.5 + 0.3 passes 0.75: tokens 0 and 1
    Sampler sp(p);
    for (auto [id, n] : histogram(sp, logits, 2000)) CHECK(id < 2);

    SamplerConfig m = plain(1.f, 5);
    m.min_p = 0.25f;  // keep p >= 0.125: tokens 0, 1, 2
    Sampler sm(m);
    auto h = histogram(sm, logits, 4000);
    CHECK(h.count(3) == 0);
    CHECK(h.count(2) == 1);
}

TEST_CASE("repetition and presence penalties steer away from recent tokens") {
    SamplerConfig c = plain(0.f);
    c.repeat_penalty = 2.f;
    Sampler s(c);
    const std::vector<float> logits{1.0f, 1.5f, -1.f};
    CHECK(s.sample(logits) == 1);
    s.accept(1);  // 1.5 / 2 = 0.75 < 1.0
    CHECK(s.sample(logits) == 0);

    SamplerConfig p = plain(0.f);
    p.presence_penalty = 1.f;
    p.penalty_last_n = 1;
    Sampler sp(p);
    sp.accept(1);
    CHECK(sp.sample(logits) == 0);
    sp.accept(0);  // only the last token counts now: 1 is back
    CHECK(sp.sample(logits) == 1);
}

TEST_CASE("the frequency penalty grows with each occurrence, the presence penalty does not") {
    const std::vector<float> logits{1.0f, 1.5f, 1.2f};
    SamplerConfig f = plain(0.f);
    f.frequency_penalty = 0.2f;
    Sampler sf(f);
    sf.accept(1);  // 1.5 - 0.2 = 1.3: still the top
    CHECK(sf.sample(logits) == 1);
    sf.accept(1);  // 1.5 - 0.4 = 1.1 < 1.2
    CHECK(sf.sample(logits) == 2);

    SamplerConfig p = plain(0.f);
    p.presence_penalty = 0.2f;
    Sampler sp(p);
    sp.accept(1);
    sp.accept(1);  // once, however often: 1.3
    CHECK(sp.sample(logits) == 1);
}

TEST_CASE("bad settings are rejected with a clear error") {
    SamplerConfig c;
    c.top_p = 0.f;
    CHECK_THROWS_AS(Sampler{c}, Error);
    c = SamplerConfig{};
    c.temperature = -1.f;
    CHECK_THROWS_AS(Sampler{c}, Error);
    c = SamplerConfig{};
    c.min_p = 1.f;
    CHECK_THROWS_AS(Sampler{c}, Error);
}
