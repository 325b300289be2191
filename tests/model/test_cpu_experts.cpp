// CPU experts (the CPU half of hybrid execution) against a plain composition of the
// reference kernels over the GGUF's own expert slices, on synthetic models of several
// quant mixes; determinism across thread counts; argument checks; the start-up rate probe.
#include "base/error.h"
#include "cpu/reference_matmul.h"
#include "cpu/reference_ops.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/recipe.h"
#include "offload/cpu_experts.h"
#include "offload/cpu_rate.h"
#include "model/synthetic_model.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

using namespace ferry;
using gguf::TensorType;
namespace fs = std::filesystem;

namespace {

struct Mix {
    const char* name;
    TensorType gate_up, down;
    // Normalised MSE, about 1.4x the worst measured here. The fast kernels round activations
    // to 8 bits (tests/cpu_fast); Q6_K's down product rounds the heavy-tailed SwiGLU output
    // with one scale per 256 values (Q8_K), Q8_0's with one per 32, hence the larger bound.
    double bound;
};

fs::path make(const Mix& mix) {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");  // 2 layers, 256 wide, 8 experts
    spec.quant = model::quant_mix_from_name("f16");
    spec.quant.expert_gate_up = mix.gate_up;
    spec.quant.expert_down = mix.down;
    const fs::path path = fs::path(FERRY_TEST_TMP_DIR) / fmt::format("cpu_experts_{}.gguf", mix.name);
    model::write_synthetic_model(spec, path);
    return path;
}

std::vector<float> gaussian(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, 1.f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Expert e of blk.<layer>.<suffix> [cols, rows, n_experts], found independently of CpuExperts.
cpu::QuantMatrix expert(const gguf::File& f, std::uint32_t layer, const char* suffix, std::uint32_t e) {
    const gguf::TensorInfo* t = f.find_tensor(model::layer_tensor(layer, suffix));
    REQUIRE(t);
    const std::uint64_t bytes = t->bytes / t->dim(2);
    return {t->type, f.tensor_data(*t).data() + e * bytes, std::int64_t(t->dim(1)), std::int64_t(t->dim(0)),
            0};
}

// Row e of the F32 bias blk.<layer>.<suffix> [n, n_experts], added to v.
void add_bias(const gguf::File& f, std::uint32_t layer, const char* suffix, std::uint32_t e, std::vector<float>& v) {
    const gguf::TensorInfo* t = f.find_tensor(model::layer_tensor(layer, suffix));
    REQUIRE(t);
    REQUIRE(t->type == TensorType::F32);
    const float* b = reinterpret_cast<const float*>(f.tensor_data(*t).data()) + std::size_t(e) * v.size();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] += b[i];
}

// out[t] += w · down_e · swiglu(gate_e · h[t], up_e · h[t]) for each route, in route order;
// for gpt-oss (`biased`) the clamped SwiGLU with each matrix's bias.
std::vector<float> reference(const gguf::File& f, const model::ModelConfig& c, std::uint32_t layer,
                             const std::vector<float>& h, const std::vector<offload::ExpertRoute>& routes,
                             std::vector<float> out, bool biased = false) {
    std::vector<float> g(c.n_ff_expert), u(c.n_ff_expert), a(c.n_ff_expert), y(c.n_embd);
    for (const offload::ExpertRoute& r : routes) {
        const std::span<const float> x(h.data() + std::size_t(r.token) * c.n_embd, c.n_embd);
        cpu::reference_matmul(expert(f, layer, "ffn_gate_exps.weight", r.expert), x, 1, g);
        cpu::reference_matmul(expert(f, layer, "ffn_up_exps.weight", r.expert), x, 1, u);
        if (biased) {
            add_bias(f, layer, "ffn_gate_exps.bias", r.expert, g);
            add_bias(f, layer, "ffn_up_exps.bias", r.expert, u);
            cpu::swiglu_oai(g, u, a);
        } else {
            cpu::swiglu(g, u, a);
        }
        cpu::reference_matmul(expert(f, layer, "ffn_down_exps.weight", r.expert), a, 1, y);
        if (biased) add_bias(f, layer, "ffn_down_exps.bias", r.expert, y);
        for (std::uint32_t i = 0; i < c.n_embd; ++i)
            out[std::size_t(r.token) * c.n_embd + i] += r.weight * y[i];
    }
    return out;
}

// top_k distinct experts per token in a scrambled order, random weights.
std::vector<offload::ExpertRoute> random_routes(std::uint32_t n_tokens, std::uint32_t n_experts,
                                              std::uint32_t top_k, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<offload::ExpertRoute> routes;
    for (std::uint32_t t = 0; t < n_tokens; ++t) {
        std::vector<std::uint32_t> ids(n_experts);
        for (std::uint32_t e = 0; e < n_experts; ++e) ids[e] = e;
        std::shuffle(ids.begin(), ids.end(), rng);
        for (std::uint32_t i = 0; i < top_k; ++i)
            routes.push_back({t, ids[i], std::uniform_real_distribution<float>(0.05f, 1.f)(rng)});
    }
    std::shuffle(routes.begin(), routes.end(), rng);
    return routes;
}

double nmse(const std::vector<float>& want, const std::vector<float>& got) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        den += double(want[i]) * want[i];
    }
    return num / den;
}

}  // namespace

TEST_CASE("cpu experts match the reference composition and do not depend on the thread count") {
    const Mix mixes[] = {
        {"q4k_q8", TensorType::Q4_K, TensorType::Q8_0, 3e-4},
        {"q4k_q6k", TensorType::Q4_K, TensorType::Q6_K, 5e-4},  // Qwen3 Q4_K_M experts
        {"f16", TensorType::F16, TensorType::F16, 1e-10},
    };
    for (const Mix& mix : mixes) {
        const std::string mix_name = mix.name;
        CAPTURE(mix_name);
        const gguf::File f = gguf::File::open(make(mix));
        const model::ModelConfig c = model::read_config(f);
        cpu::ThreadPool pool1(1), pool2(2);
        offload::CpuExperts one(f, model::expert_layout(f, c), pool1), two(f, model::expert_layout(f, c), pool2);
        // Decode (1 token, top-2), a few tokens sharing experts, a prefill-like batch.
        for (std::uint32_t n_tokens : {1u, 3u, 9u}) {
            for (std::uint32_t layer = 0; layer < c.n_layers; ++layer) {
                CAPTURE(n_tokens);
                CAPTURE(layer);
                const auto h = gaussian(std::size_t(n_tokens) * c.n_embd, 7 + n_tokens);
                const auto routes = random_routes(n_tokens, c.n_experts, c.n_experts_used, 11 + layer);
                const std::vector<float> zero(h.size(), 0.f);
                const std::vector<float> want = reference(f, c, layer, h, routes, zero);
                std::vector<float> got1 = zero, got2 = zero;
                one.add_experts(layer, h, n_tokens, routes, got1);
                two.add_experts(layer, h, n_tokens, routes, got2);
                CHECK(nmse(want, got1) <= mix.bound);
                CHECK(got1 == got2);
                // It adds to what is there (the scratch reuse does not change results).
                std::vector<float> again(h.size(), 1.f);
                one.add_experts(layer, h, n_tokens, routes, again);
                double worst = 0;
                for (std::size_t i = 0; i < h.size(); ++i)
                    worst = std::max(worst, std::abs(double(again[i]) - 1 - got1[i]));
                CHECK(worst < 1e-5);
            }
        }
    }
}

TEST_CASE("cpu experts: no routes leave out unchanged; expert_bytes is one slice of each tensor") {
    const Mix mix{"q4k_q8", TensorType::Q4_K, TensorType::Q8_0, 0};
    const gguf::File f = gguf::File::open(make(mix));
    const model::ModelConfig c = model::read_config(f);
    cpu::ThreadPool pool(2);
    offload::CpuExperts experts(f, model::expert_layout(f, c), pool);
    CHECK(experts.n_layers() == c.n_layers);
    std::vector<float> h(c.n_embd, 1.f), out(c.n_embd, 3.f);
    experts.add_experts(0, h, 1, {}, out);
    CHECK(out == std::vector<float>(c.n_embd, 3.f));

    std::uint64_t want = 0;
    for (const char* s : {"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"})
        want += f.find_tensor(model::layer_tensor(1, s))->bytes / c.n_experts;
    CHECK(experts.expert_bytes(1) == want);
    // Q4_K: 144 bytes per 256 values; Q8_0: 34 per 32.  gate+up: 2·256·256, down: 256·256.
    CHECK(want == 2 * 256 * 144 + 256 * 8 * 34);
}

namespace {

// CpuExperts on layer `layer` of a generated preset against the reference composition.
void check_preset_experts(const char* preset, const char* quant, std::uint32_t layer, bool biased) {
    model::SyntheticModelSpec spec = model::synthetic_preset(preset);
    spec.quant = model::quant_mix_from_name(quant);
    const fs::path path = fs::path(FERRY_TEST_TMP_DIR) / fmt::format("cpu_experts_{}.gguf", preset);
    model::write_synthetic_model(spec, path);
    const gguf::File f = gguf::File::open(path);
    const model::ModelConfig c = model::read_config(f);
    cpu::ThreadPool pool(2);
    offload::CpuExperts experts(f, model::expert_layout(f, c), pool);
    const std::uint32_t engine_layer = std::uint32_t(model::moe_index(c, layer));
    for (std::uint32_t n_tokens : {1u, 7u}) {
        CAPTURE(n_tokens);
        const std::vector<float> h = gaussian(std::size_t(n_tokens) * c.n_embd, 40 + n_tokens);
        const auto routes = random_routes(n_tokens, c.n_experts, c.n_experts_used, 50 + n_tokens);
        const std::vector<float> init = gaussian(h.size(), 60);
        std::vector<float> got = init;
        experts.add_experts(engine_layer, h, n_tokens, routes, got);
        const std::vector<float> want = reference(f, c, layer, h, routes, init, biased);
        const double e = nmse(want, got);
        MESSAGE(preset << " cpu experts nmse " << e);
        CHECK(e < 3e-4);  // 8-bit activations, as the q4k_q8 mix above
        if (biased) CHECK(nmse(reference(f, c, layer, h, routes, init, false), got) > 1e-2);  // biases, clamp matter
    }
}

}  // namespace

TEST_CASE("cpu experts of gpt-oss (MXFP4, clamped SwiGLU, biases on gate, up and down) match the reference") {
    check_preset_experts("tiny-gptoss", "mxfp4", 1, true);
}

TEST_CASE("cpu experts of Llama 4 (experts on every other layer) match the reference") {
    check_preset_experts("tiny-llama4", "q4_k_m", 3, false);  // model layer 3 is the engine's layer 1
}

TEST_CASE("cpu experts reject bad arguments with clear errors") {
    const Mix mix{"q4k_q8", TensorType::Q4_K, TensorType::Q8_0, 0};
    const gguf::File f = gguf::File::open(make(mix));
    model::ModelConfig c = model::read_config(f);
    cpu::ThreadPool pool(1);
    offload::CpuExperts experts(f, model::expert_layout(f, c), pool);
    std::vector<float> h(2 * c.n_embd), out(2 * c.n_embd);
    const std::vector<offload::ExpertRoute> ok{{1, 3, 0.5f}};
    CHECK_NOTHROW(experts.add_experts(1, h, 2, ok, out));
    CHECK_THROWS_WITH_AS(experts.add_experts(2, h, 2, ok, out), doctest::Contains("layer 2 is out of range"),
                         Error);
    CHECK_THROWS_WITH_AS(experts.add_experts(0, h, 3, ok, out), doctest::Contains("expected 3 tokens"),
                         Error);
    const std::vector<offload::ExpertRoute> bad_token{{2, 0, 1.f}}, bad_expert{{0, 8, 1.f}};
    CHECK_THROWS_WITH_AS(experts.add_experts(0, h, 2, bad_token, out), doctest::Contains("route (token 2"),
                         Error);
    CHECK_THROWS_WITH_AS(experts.add_experts(0, h, 2, bad_expert, out), doctest::Contains("expert 8)"),
                         Error);
    CHECK_THROWS_AS(experts.expert_bytes(5), Error);

    c.n_ff_expert = 128;  // disagrees with the tensors
    CHECK_THROWS_WITH_AS(model::expert_layout(f, c), doctest::Contains("ffn_gate_exps.weight has shape"), Error);
}

TEST_CASE("the CPU expert rate probe returns a positive, finite rate") {
    const Mix mix{"q4k_q8", TensorType::Q4_K, TensorType::Q8_0, 0};
    const gguf::File f = gguf::File::open(make(mix));
    cpu::ThreadPool pool(2);
    offload::CpuExperts experts(f, model::expert_layout(f, model::read_config(f)), pool);
    const double rate = offload::measure_cpu_expert_rate(experts, 1, 5);
    CHECK(std::isfinite(rate));
    CHECK(rate > 0);
    CHECK_THROWS_AS(offload::measure_cpu_expert_rate(experts, 1, 0), Error);
}
