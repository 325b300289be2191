// Every family ferry runs against the figures of an independent engine users trust
// (../shared/data/reference, from ik_llama.cpp): perplexity of ppl.txt in chunks of 128
// tokens within the stated relative tolerance, and the 32 greedy tokens of the prompt
// equal. The CPU reference forward shares ferry's reading of each model card; these
// figures do not. Offloading (few expert slots) must give the resident run's figures
// exactly. A file whose family ferry cannot run yet must be refused with one clear error.
#include "base/error.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/gpu_model.h"
#include "model/perplexity.h"
#include "model/recipe.h"
#include "model/reference_forward.h"
#include "reference_engine_graphs.h"
#include "reference_figures.h"
#include "sample/sampler.h"
#include "support/vulkan_test_device.h"
#include "text/gguf_vocab.h"
#include "text/tokenizer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace ferry;
namespace fs = std::filesystem;

namespace {

// The reference files whose families ferry runs; each must match its figures. A family
// leaving this list (refused again) fails the "refused" test below.
const std::set<std::string> kRunnable = {"deepseek2-dev", "gptoss-dev",    "llama4-dev",   "mixtral-dev",
                                          "qwen2moe-dev",  "qwen35moe-dev", "qwen3next-dev"};
// Of those, mixtral-dev and llama4-dev run the reference engine's own graphs
// (reference_engine_graphs.h says where it departs from the published formulas ferry's
// recipes follow, and why the figures then check the rest of those families). ferry's own
// recipes give 5437.7 (mixtral-dev, +5.3%) and 5011.7 (llama4-dev, +4.4%); issue #17's note.
// Chunks the offloaded run repeats (the resident run does the whole text).
constexpr std::size_t kOffloadedChunks = 6;

const fs::path kDir = fs::path(FERRY_SHARED_DATA_DIR) / "reference";

std::vector<test::ReferenceFigures> figures() {
    return test::read_reference_figures(kDir);
}

// Logits of every token of `tokens`, run from an empty context: [n, V].
using Evaluate = std::function<std::vector<float>(std::span<const std::int32_t> tokens)>;
// Logits of the last token of `tokens` appended to the context so far: [V].
using Step = std::function<std::vector<float>(std::span<const std::int32_t> tokens)>;

// Running perplexity after each chunk of the text (the last is the figure), over the first
// `max_chunks` chunks (0: all).
std::vector<double> perplexity(const test::ReferenceFigures& f, const text::Tokenizer& tokenizer,
                               std::uint32_t n_vocab, const Evaluate& evaluate, std::size_t max_chunks = 0) {
    // As llama.cpp's perplexity: the whole text, BOS only where the vocabulary adds one.
    std::vector<text::TokenId> tokens =
        tokenizer.encode(test::read_text(kDir / "ppl.txt"), {.add_special = true});
    if (max_chunks && tokens.size() > max_chunks * f.ctx) tokens.resize(max_chunks * f.ctx);
    return model::compute_perplexity(tokens, f.ctx, n_vocab, evaluate).running_ppl;
}

// Greedy continuation from an empty context, each choice fed back.
std::vector<std::int32_t> greedy(const test::ReferenceFigures& f, const text::Tokenizer& tokenizer,
                                 const Step& step) {
    std::vector<std::int32_t> out;
    std::vector<float> logits = step(tokenizer.encode(f.prompt, {.add_special = true}));
    while (out.size() < f.greedy.size()) {
        out.push_back(sample::argmax(logits));
        logits = step(std::vector<std::int32_t>{out.back()});
    }
    return out;
}

void check_ppl(const test::ReferenceFigures& f, double ppl) {
    MESSAGE(f.model << ": perplexity " << ppl << ", reference " << f.ppl << " (" << 100 * (ppl / f.ppl - 1)
                    << "%)");
    CHECK(std::abs(ppl / f.ppl - 1) <= f.ppl_tolerance);
}

void check_greedy(const test::ReferenceFigures& f, const std::vector<std::int32_t>& ids) {
    std::size_t same = 0;
    while (same < ids.size() && ids[same] == f.greedy[same]) ++same;
    MESSAGE(f.model << ": " << same << " of " << f.greedy.size() << " greedy tokens as the reference");
    CHECK(ids == f.greedy);
}

struct Opened {
    gguf::File file;
    text::Tokenizer tokenizer;
    explicit Opened(const fs::path& path)
        : file(gguf::File::open(path)), tokenizer(text::vocabulary_from_gguf(file)) {}
};

}  // namespace

TEST_CASE("the reference figures are there and every runnable family has them") {
    const auto all = figures();
    CHECK(all.size() >= 7);
    std::set<std::string> listed;
    for (const auto& f : all) {
        CAPTURE(f.model);
        CHECK(fs::exists(f.file));
        CHECK(f.ppl > 1);
        CHECK(f.greedy.size() == 32);
        listed.insert(f.model);
    }
    for (const std::string& m : kRunnable) CHECK(listed.count(m) == 1);
}

TEST_CASE("reference files of families ferry does not run yet are refused with one clear error") {
    for (const auto& f : figures()) {
        if (kRunnable.count(f.model)) continue;
        CAPTURE(f.model);
        const gguf::File file = gguf::File::open(f.file);
        try {
            const model::ModelConfig c = model::read_config(file);
            model::check_tensor_shapes(c, file);
            FAIL("ferry accepts " << f.model << ": add it to kRunnable, where it must match its figures");
        } catch (const Error& e) {
            const std::string what = e.what();
            MESSAGE(f.model << ": " << what);
            CHECK(what.find(f.file.filename().string()) != std::string::npos);
            CHECK(what.find('\n') == std::string::npos);
        }
    }
}

// The CPU reference's greedy tokens of a reference file (the Vulkan test compares with them).
std::vector<std::int32_t> cpu_greedy(const test::ReferenceFigures& f, const Opened& o) {
    model::ReferenceModel m(o.file, f.ctx, test::reference_engine_graph(f.model));
    const std::uint32_t V = m.config().n_vocab;
    return greedy(f, o.tokenizer, [&](std::span<const std::int32_t> t) {
        const std::vector<float> all = m.forward(t);
        return std::vector<float>(all.end() - V, all.end());
    });
}

TEST_CASE("CPU reference forward: greedy tokens of the reference engine") {
    for (const auto& f : figures()) {
        if (!kRunnable.count(f.model)) continue;
        CAPTURE(f.model);
        const Opened o(f.file);
        check_greedy(f, cpu_greedy(f, o));
    }
}

TEST_CASE("Vulkan forward, resident and offloaded: perplexity and greedy tokens of the reference engine") {
    test::GpuTest gpu;
    if (!gpu) return;
    for (const auto& f : figures()) {
        if (!kRunnable.count(f.model)) continue;
        CAPTURE(f.model);
        const Opened o(f.file);
        // All experts in VRAM; then two slots per layer (fewer than top-k for some: passes),
        // which changes speed, never results.
        const model::Recipe* graph = test::reference_engine_graph(f.model);
        model::GpuModel resident(gpu.device(), o.file, {.n_ctx = f.ctx, .max_batch = f.ctx, .recipe = graph});
        model::GpuModel offloaded(gpu.device(), o.file,
                                  {.n_ctx = f.ctx, .max_batch = f.ctx, .expert_slots = 2, .recipe = graph});
        std::vector<std::vector<double>> ppl;
        std::vector<std::vector<std::int32_t>> ids;
        for (model::GpuModel* m : {&resident, &offloaded}) {
            const std::size_t chunks = m == &resident ? 0 : kOffloadedChunks;
            ppl.push_back(perplexity(
                f, o.tokenizer, m->config().n_vocab,
                [&](std::span<const std::int32_t> t) {
                    m->reset();
                    return m->forward(t, true);
                },
                chunks));
            m->reset();
            ids.push_back(
                greedy(f, o.tokenizer, [&](std::span<const std::int32_t> t) { return m->forward(t); }));
        }
        check_ppl(f, ppl[0].back());
        check_greedy(f, ids[0]);
        REQUIRE(ppl[1].size() == kOffloadedChunks);
        CHECK(std::equal(ppl[1].begin(), ppl[1].end(), ppl[0].begin()));
        CHECK(ids[1] == ids[0]);
        // The CPU reference (F32 KV cache, other summation order) picks the same tokens.
        CHECK(cpu_greedy(f, o) == ids[0]);
    }
}
