// The fast CPU kernels of every path this machine runs against reference_matmul, per type.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

#include "cpu/fast_matmul.h"
#include "fast_test_util.h"

using namespace ferry;
using namespace ferry::cpu;
using gguf::TensorType;

namespace {

struct Case {
    TensorType type;
    std::int64_t cols;  // odd block counts where the format allows (AVX-512 pairs blocks)
    double bound;       // normalised MSE vs the F32 reference, 8-bit activation rounding
};

// Bounds about 1.4x the worst measured (101 rows, seeds below) over paths and token counts. Q8_K activations
// (one scale per 256) round a little coarser than Q8_0 (one per 32); F16/BF16 keep F32
// activations, so only summation order differs.
constexpr Case kCases[] = {
    {TensorType::Q4_0, 800, 4e-5},   {TensorType::Q8_0, 800, 4e-5}, {TensorType::MXFP4, 800, 4e-5},
    {TensorType::Q4_K, 768, 8e-5},   {TensorType::Q5_K, 768, 8e-5}, {TensorType::Q6_K, 768, 8e-5},
    {TensorType::IQ4_XS, 768, 8e-5}, {TensorType::F16, 771, 1e-11}, {TensorType::BF16, 771, 1e-11},
};

constexpr std::int64_t kRows = 101;
constexpr std::int64_t kMaxTokens = 8;

}  // namespace

TEST_CASE("fast matmul: every type and path against the reference, 1..8 tokens, 1 and 3 threads") {
    const auto paths = supported_paths();
    MESSAGE("CPU kernel paths run on this machine: " << test::path_list(paths));
    ThreadPool pool1(1), pool3(3);
    for (const Case& c : kCases) {
        CAPTURE(gguf::type_name(c.type));
        REQUIRE(has_fast_kernel(c.type));
        const auto m = test::make_matrix(c.type, kRows, c.cols, 11);
        const auto x = test::gaussian(static_cast<std::size_t>(kMaxTokens * c.cols), 12);
        std::vector<float> want(static_cast<std::size_t>(kMaxTokens * kRows));
        reference_matmul(m.view, x, kMaxTokens, want);

        std::vector<float> scalar_out;
        for (CpuPath path : paths) {
            CAPTURE(path_name(path));
            ExpertMatmul one(pool1, path), three(pool3, path);
            std::vector<float> all(want.size());
            one.matmul(m.view, x, kMaxTokens, all);
            double worst = 0.0;
            for (std::int64_t nt = 1; nt <= kMaxTokens; ++nt) {
                CAPTURE(nt);
                const auto n_in = static_cast<std::size_t>(nt * c.cols),
                           n_out = static_cast<std::size_t>(nt * kRows);
                std::vector<float> y1(n_out), y3(n_out);
                one.matmul(m.view, std::span(x).first(n_in), nt, y1);
                three.matmul(m.view, std::span(x).first(n_in), nt, y3);
                const double e = test::nmse(want, y1, n_out);
                worst = std::max(worst, e);
                CHECK(e <= c.bound);
                CHECK(y1 == y3);  // the row split never changes a result
                // nor does the token count (1 token runs the one-row kernels, 2+ the two-row ones
                // where a path has them: the two must agree to the bit)
                CHECK(std::equal(y1.begin(), y1.end(), all.begin()));
            }
            MESSAGE(fmt::format("{:6} {:12} worst NMSE {:.3e} (bound {:.0e})", gguf::type_name(c.type),
                                path_name(path), worst, c.bound));
            // Every path does the same integer arithmetic; only float summation order differs.
            if (path == CpuPath::scalar)
                scalar_out = all;
            else
                CHECK(test::nmse(scalar_out, all, all.size()) <= 1e-11);
        }
    }
}

TEST_CASE("fast matmul: types without SIMD kernels take the dequantizing path") {
    ThreadPool pool(3);
    for (TensorType type : {TensorType::F32, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                            TensorType::Q2_K, TensorType::Q3_K, TensorType::IQ4_NL}) {
        CAPTURE(gguf::type_name(type));
        CHECK_FALSE(has_fast_kernel(type));
        const auto m = test::make_matrix(type, 19, 512, 21);
        const auto x = test::gaussian(3 * 512, 22);
        std::vector<float> want(3 * 19), got(3 * 19);
        reference_matmul(m.view, x, 3, want);
        ExpertMatmul(pool, best_path()).matmul(m.view, x, 3, got);
        CHECK(test::nmse(want, got, got.size()) <= 1e-11);
    }
}

TEST_CASE("fast matmul: zero activations give zero outputs") {
    ThreadPool pool(2);
    for (const Case& c : kCases) {
        CAPTURE(gguf::type_name(c.type));
        const auto m = test::make_matrix(c.type, 5, c.cols, 31);
        const std::vector<float> x(static_cast<std::size_t>(2 * c.cols), 0.0f);
        for (CpuPath path : supported_paths()) {
            std::vector<float> y(10, 1.0f);
            ExpertMatmul(pool, path).matmul(m.view, x, 2, y);
            CHECK(y == std::vector<float>(10, 0.0f));
        }
    }
}

TEST_CASE("fast matmul: bad sizes and matrices throw with a message") {
    ThreadPool pool(1);
    ExpertMatmul mm(pool, CpuPath::scalar);
    const auto m = test::make_matrix(TensorType::Q4_K, 4, 256, 41);
    std::vector<float> x(256), y(4), small(3);
    CHECK_THROWS_WITH_AS(mm.matmul(m.view, x, 1, small), doctest::Contains("output has 3 floats"), Error);
    CHECK_THROWS_WITH_AS(mm.matmul(m.view, small, 1, y), doctest::Contains("input has 3 floats"), Error);
    CHECK_THROWS_AS(mm.matmul(m.view, x, 0, y), Error);
    QuantMatrix bad = m.view;
    bad.cols = 100;  // not a whole number of Q4_K blocks
    CHECK_THROWS_AS(mm.matmul(bad, x, 1, y), Error);
}

TEST_CASE("fast matmul: more than 8 tokens run in groups with unchanged results") {
    ThreadPool pool(3);
    const std::int64_t tokens = 11, rows = 23;
    for (const Case& c : kCases) {
        CAPTURE(gguf::type_name(c.type));
        const auto m = test::make_matrix(c.type, rows, c.cols, 71);
        const auto x = test::gaussian(static_cast<std::size_t>(tokens * c.cols), 72);
        std::vector<float> want(static_cast<std::size_t>(tokens * rows));
        reference_matmul(m.view, x, tokens, want);
        for (CpuPath path : supported_paths()) {
            CAPTURE(path_name(path));
            ExpertMatmul mm(pool, path);
            std::vector<float> all(want.size()), one(static_cast<std::size_t>(rows));
            mm.matmul(m.view, x, tokens, all);
            CHECK(test::nmse(want, all, all.size()) <= c.bound);
            for (std::int64_t t = 0; t < tokens; ++t) {
                mm.matmul(m.view,
                          std::span(x).subspan(static_cast<std::size_t>(t * c.cols),
                                               static_cast<std::size_t>(c.cols)),
                          1, one);
                CHECK(std::equal(one.begin(), one.end(), all.begin() + t * rows));
            }
        }
    }
}
