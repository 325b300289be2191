// ferry run: complete a prompt, streaming only the generated text to stdout.
#include "app/command_registry.h"
#include "app/model_session.h"
#include "app/offload_report.h"
#include "app/sampler_options.h"
#include "app/trace_out.h"
#include "base/error.h"
#include "base/timing.h"
#include "base/units.h"
#include "text/detokenizer.h"
#include "vk/pipeline_cache.h"

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace ferry::app {
namespace {

struct RunOptions {
    ModelOptions model;
    sample::SamplerConfig sampler;
    std::string prompt;
    std::string prompt_file;
    int n_predict = 128;
    bool stats = false;
    bool ignore_eos = false;
    std::string trace_out;
};

// "shaders: 40 pipelines built in 2.51 s; cache /home/u/.cache/ferry/pipelines-....bin (loaded 1.2 MiB)":
// with the first-token time it tells a cold cache from a warm one.
std::string pipeline_report(const vk::PipelineCacheStatus& s) {
    std::string cache =
        s.path.empty()       ? "no cache on disk"
        : !s.ignored.empty() ? fmt::format("cache {} (ignored: {})", s.path.string(), s.ignored)
        : s.loaded_bytes > 0
            ? fmt::format("cache {} (loaded {})", s.path.string(), format_bytes(s.loaded_bytes))
            : fmt::format("cache {} (new)", s.path.string());
    return fmt::format("shaders: {} pipelines built in {:.2f} s; {}\n", s.pipelines_built, s.build_seconds,
                       cache);
}

void run(RunOptions& o) {
    if (o.prompt.empty() == o.prompt_file.empty())
        fail("give the prompt with -p TEXT or -f FILE (one of them)");
    if (!o.prompt_file.empty()) {
        std::ifstream in(o.prompt_file, std::ios::binary);
        if (!in) fail("cannot read prompt file {}", o.prompt_file);
        o.prompt.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (o.n_predict < 0) fail("-n must be >= 0");
    o.sampler.seed = resolve_seed(o.sampler.seed);
    ModelSession session(o.model);
    const text::Tokenizer& tok = session.tokenizer();
    model::GpuModel& m = session.model();
    sample::Sampler sampler(o.sampler);
    std::unique_ptr<TraceRecorder> trace;
    if (!o.trace_out.empty()) trace = std::make_unique<TraceRecorder>(o.trace_out, m, o.model.model_path);

    const std::vector<text::TokenId> prompt =
        tok.encode(o.prompt, {.add_special = true, .parse_special = true});
    if (prompt.empty()) fail("the prompt has no tokens");
    if (prompt.size() + std::size_t(o.n_predict) > m.n_ctx())
        fail("prompt ({} tokens) + -n {} exceed --ctx {}; raise --ctx or lower -n", prompt.size(),
             o.n_predict, m.n_ctx());
    for (text::TokenId t : prompt) sampler.accept(t);

    const auto t_prefill = std::chrono::steady_clock::now();
    std::vector<float> logits = m.forward(prompt);
    const double prefill_s = seconds_since(t_prefill);

    text::StreamDecoder stream(tok);
    const auto t_decode = std::chrono::steady_clock::now();
    double first_token_s = 0;  // after load: prefill (and the pipelines it builds) + sampling
    int generated = 0;
    for (; generated < o.n_predict; ++generated) {
        const int next = sampler.sample(logits);
        if (generated == 0) first_token_s = seconds_since(t_prefill);
        if (!o.ignore_eos && tok.is_end_of_generation(next)) break;
        sampler.accept(next);
        const std::string piece = stream.push(next);
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        if (generated + 1 < o.n_predict) logits = m.forward(std::vector<std::int32_t>{next});
    }
    const std::string rest = stream.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    const double decode_s = seconds_since(t_decode);
    if (o.stats) {
        fmt::print(stderr, "\nload:    {:.2f} s\n", session.load_seconds());
        fmt::print(stderr, "prefill: {} tokens in {:.3f} s = {:.1f} t/s\n", prompt.size(), prefill_s,
                   prompt.size() / prefill_s);
        fmt::print(stderr, "decode:  {} tokens in {:.3f} s = {:.1f} t/s\n", generated, decode_s,
                   generated > 0 ? generated / decode_s : 0.0);
        if (o.n_predict > 0)
            fmt::print(stderr, "first:   {:.3f} s from load to the first token\n", first_token_s);
        fmt::print(stderr, "{}", pipeline_report(session.device().pipeline_cache().status()));
        fmt::print(stderr, "VRAM:    {} used of {} budget (peak {})\n",
                   format_bytes(session.device().accountant().current()),
                   format_bytes(session.device().accountant().budget()),
                   format_bytes(session.device().accountant().peak()));
        if (m.offloading())
            fmt::print(stderr, "{}", offload_report(m.offload_stats(), prompt.size() + generated));
        fmt::print(stderr, "seed:    {}\n", o.sampler.seed);
        if (trace) fmt::print(stderr, "trace:   {} routing events in {}\n", trace->events(), o.trace_out);
    }
}

void add_run_command(CLI::App& parent) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* cmd = parent.add_subcommand(
        "run", "Complete a prompt: the generated text goes to stdout, everything else to stderr");
    add_model_options(cmd, o->model);
    cmd->add_option("-p,--prompt", o->prompt,
                    "Prompt text (special tokens such as <|im_start|> are recognised)");
    cmd->add_option("-f,--file", o->prompt_file, "Read the prompt from a file");
    cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate at most")->capture_default_str();
    cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-generation tokens");
    cmd->add_option("--trace-out", o->trace_out,
                    "Record every router decision (token, layer, experts, weights) for `ferry simulate`");
    cmd->add_flag("--stats", o->stats,
                  "Print load time, prefill and decode t/s, first-token time, pipeline builds and VRAM "
                  "use at the end");
    add_sampler_options(cmd, o->sampler);
    cmd->callback([o] { run(*o); });
}

const CommandRegistration registration{"run", 30, add_run_command};

}  // namespace
}  // namespace ferry::app
