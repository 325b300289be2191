// The `ferry` command line end to end, as a user runs it: exit codes, what goes to stdout
// and stderr, and one-line errors for bad input.
#include "support/vulkan_test_device.h"
#include "vk/timestamps.h"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Result {
    int status = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

std::string tmp(const std::string& name) {
    return (fs::path(FERRY_TEST_TMP_DIR) / name).string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Runs `ferry <args>` with stdin from /dev/null; args are passed through the shell. `env`:
// variable assignments for this run ("FERRY_MAX_BINDING=128K").
Result run_ferry(const std::string& args, const std::string& env = "") {
    const std::string out = tmp("cli.out"), err = tmp("cli.err");
    const std::string cmd =
        env + " " + std::string(FERRY_BIN) + " " + args + " < /dev/null > " + out + " 2> " + err;
    const int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

const std::string& tiny_model() {
    static const std::string path = [] {
        const std::string p = tmp("cli_tiny.gguf");
        const Result r =
            run_ferry("make-model --preset tiny --quant q4_k_m --vocab 512 -o " + p + " --force");
        REQUIRE(r.status == 0);
        return p;
    }();
    return path;
}

// The error is one line, the last one on stderr (progress lines may come before it).
bool one_error_line(const Result& r) {
    if (r.status == 0 || r.err.empty() || r.err.back() != '\n') return false;
    const std::size_t start = r.err.rfind('\n', r.err.size() - 2);
    const std::string last = r.err.substr(start == std::string::npos ? 0 : start + 1);
    return last.rfind("ferry: error: ", 0) == 0 && r.err.find("error") == r.err.find("ferry: error: ") + 7;
}

std::string fmt_events(std::size_t n) {
    return "trace:   " + std::to_string(n) + " routing events";
}

}  // namespace

TEST_CASE("info and tokenize work without a GPU") {
    const Result info = run_ferry("info " + tiny_model() + " --vram-budget 512M");
    CHECK(info.status == 0);
    CHECK(info.out.find("qwen3moe") != std::string::npos);
    CHECK(info.out.find("VRAM budget 512 MiB") != std::string::npos);
    const Result tok = run_ferry("tokenize -m " + tiny_model() + " -p 'Hello there' --ids");
    CHECK(tok.status == 0);
    CHECK(tok.out.front() == '[');
}

TEST_CASE("tokenize parses control-token text by default, as llama-tokenize does") {
    const std::string base = "tokenize -m " + tiny_model() + " --no-bos -p '<|im_start|>user'";
    const Result parsed = run_ferry(base);
    CHECK(parsed.status == 0);
    CHECK(parsed.out.find("(control)") != std::string::npos);
    const Result explicit_flag = run_ferry(base + " --parse-special");
    CHECK(explicit_flag.out == parsed.out);
    const Result plain = run_ferry(base + " --no-parse-special");
    CHECK(plain.status == 0);
    CHECK(plain.out.find("(control)") == std::string::npos);
    CHECK(plain.out.size() > parsed.out.size());  // the marker's characters as ordinary tokens
}

TEST_CASE("bad input gives one error line and a non-zero exit") {
    CHECK(one_error_line(run_ferry("info /nonexistent/model.gguf")));
    std::ofstream(tmp("garbage.gguf")) << "this is not a gguf file at all, just text";
    const Result garbage = run_ferry("info " + tmp("garbage.gguf"));
    CHECK(garbage.status == 1);
    CHECK(one_error_line(garbage));
    const Result bad_budget = run_ferry("info " + tiny_model() + " --vram-budget 6X");
    CHECK(bad_budget.status == 1);
    CHECK(one_error_line(bad_budget));
    // A vocab-only GGUF has no weights to run.
    const Result vocab = run_ferry("run -m " FERRY_SHARED_DATA_DIR "/vocab/ggml-vocab-gpt-2.gguf -p hi -n 1");
    CHECK(vocab.status == 1);
    CHECK(vocab.err.find("ferry: error: ") != std::string::npos);
    CHECK(run_ferry("run -m " + tiny_model()).status != 0);  // no prompt
}

TEST_CASE("run: greedy output is deterministic and goes to stdout alone; --stats to stderr") {
    if (!ferry::test::vulkan_device()) return;
    const std::string args = "run -m " + tiny_model() + " -p 'The weather today' -n 12 --temp 0 --ignore-eos";
    const Result a = run_ferry(args + " --stats");
    const Result b = run_ferry(args);
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    CHECK(a.out == b.out);
    CHECK(!a.out.empty());
    CHECK(a.err.find("decode:  12 tokens") != std::string::npos);
    CHECK(a.err.find("t/s") != std::string::npos);
    CHECK(a.out.find("t/s") == std::string::npos);
    // Sampling with a seed is reproducible too.
    const std::string sampled = "run -m " + tiny_model() + " -p 'Hello' -n 8 --temp 1 --seed 42 --ignore-eos";
    CHECK(run_ferry(sampled).out == run_ferry(sampled).out);
}

TEST_CASE("run --stats: first-token time, and the pipeline cache written by one run and loaded by the next") {
    if (!ferry::test::vulkan_device()) return;
    const std::string cache = tmp("cli_pipeline_cache");
    std::filesystem::remove_all(cache);
    const std::string args = "run -m " + tiny_model() + " -p hi -n 1 --stats";
    const Result cold = run_ferry(args, "XDG_CACHE_HOME=" + cache);
    REQUIRE(cold.status == 0);
    CHECK(cold.err.find("first:   ") != std::string::npos);
    CHECK(cold.err.find("pipelines built in") != std::string::npos);
    CHECK(cold.err.find("cache " + cache + "/ferry/pipelines-") != std::string::npos);
    CHECK(cold.err.find(".bin (new)") != std::string::npos);
    const Result warm = run_ferry(args, "XDG_CACHE_HOME=" + cache);
    REQUIRE(warm.status == 0);
    CHECK(warm.err.find(".bin (loaded ") != std::string::npos);
    CHECK(warm.err.find("ignoring") == std::string::npos);
    const Result off = run_ferry(args, "FERRY_NO_PIPELINE_CACHE=1 XDG_CACHE_HOME=" + cache);
    REQUIRE(off.status == 0);
    CHECK(off.err.find("no cache on disk") != std::string::npos);
}

TEST_CASE("run: a budget too small for the model says how much is missing") {
    if (!ferry::test::vulkan_device()) return;
    const Result r = run_ferry("run -m " + tiny_model() + " -p hi -n 1 --vram-budget 1M");
    CHECK(r.status == 1);
    CHECK(one_error_line(r));
    CHECK(r.err.find("needs") != std::string::npos);
    CHECK(r.err.find("--ctx") != std::string::npos);
}

TEST_CASE("perplexity prints the running estimate and the final line") {
    if (!ferry::test::vulkan_device()) return;
    std::ofstream text(tmp("ppl.txt"));
    for (int i = 0; i < 20; ++i) text << "The quick brown fox jumps over the lazy dog. ";
    text.close();
    const Result r = run_ferry("perplexity -m " + tiny_model() + " -f " + tmp("ppl.txt") + " -c 32");
    REQUIRE(r.status == 0);
    CHECK(r.out.find("[1]") != std::string::npos);
    CHECK(r.out.find("Final estimate: PPL = ") != std::string::npos);
    const Result too_short =
        run_ferry("perplexity -m " + tiny_model() + " -f " + tmp("ppl.txt") + " -c 4096");
    CHECK(too_short.status == 1);
    CHECK(too_short.err.find("--ctx") != std::string::npos);
}

TEST_CASE("bench prints a table with t/s and the bandwidth bound, and JSON") {
    if (!ferry::test::vulkan_device()) return;
    const Result r = run_ferry("bench -m " + tiny_model() + " -p 16 -n 4 -r 2 --json " + tmp("bench.json"));
    REQUIRE(r.status == 0);
    CHECK(r.out.find("pp16") != std::string::npos);
    CHECK(r.out.find("tg4") != std::string::npos);
    CHECK(r.out.find("copy bandwidth") != std::string::npos);
    CHECK(slurp(tmp("bench.json")).find("\"tokens_per_s\"") != std::string::npos);
}

TEST_CASE("run --trace-out records every router decision, and simulate replays it") {
    if (!ferry::test::vulkan_device()) return;
    const std::string trace = tmp("run.trace");
    const Result r = run_ferry("run -m " + tiny_model() +
                               " -p 'Hello there' -n 10 --temp 0 --ignore-eos --stats "
                               "--trace-out " +
                               trace);
    REQUIRE(r.status == 0);
    const std::string text = slurp(trace);
    CHECK(text.rfind("{", 0) == 0);
    CHECK(text.find("\"ferry-routing-trace/v1\"") != std::string::npos);
    // The tiny preset has 2 layers: one line per (token, layer) after the header.
    const std::size_t lines = std::count(text.begin(), text.end(), '\n');
    CHECK(r.err.find(fmt_events(lines - 1)) != std::string::npos);
    const Result sim = run_ferry("simulate --trace " + trace + " --slots 4 --json");
    REQUIRE(sim.status == 0);
    CHECK(sim.out.find("\"belady_hit_rate\"") != std::string::npos);
}

TEST_CASE("run with a VRAM budget smaller than the model offloads experts and prints the same text") {
    if (!ferry::test::vulkan_device()) return;
    const std::string args =
        "run -m " + tiny_model() + " -p 'Hello there' -n 8 --temp 0 --ignore-eos --ctx 64 --stats";
    const Result resident = run_ferry(args);
    REQUIRE(resident.status == 0);
    CHECK(resident.err.find("copied in on demand") == std::string::npos);
    CHECK(resident.err.find("link: ") == std::string::npos);
    const bool link_timed =
        ferry::vk::Timestamps::supported(*ferry::test::vulkan_device(), ferry::vk::QueueKind::Transfer);
    // 3.25M holds one expert slot per layer (the minimum), 3.5M two of the 8.
    for (const char* budget : {"3.25M", "3.5M"}) {
        CAPTURE(budget);
        const Result offloaded = run_ferry(args + " --vram-budget " + budget);
        REQUIRE(offloaded.status == 0);
        CHECK(offloaded.err.find("copied in on demand") != std::string::npos);
        CHECK(offloaded.err.find("experts: ") != std::string::npos);
        // Every demand batch copies at least one expert, enough to be timed on the GPU.
        if (link_timed) CHECK(offloaded.err.find("link:    measured ") != std::string::npos);
        CHECK(offloaded.out == resident.out);
    }
    for (const char* mode : {"--miss-policy cpu", "--miss-policy auto", "--cpu-moe"}) {
        CAPTURE(mode);
        const Result hybrid = run_ferry(args + " --vram-budget 3.5M " + mode);
        REQUIRE(hybrid.status == 0);
        CHECK(hybrid.err.find("experts: ") != std::string::npos);
        if (std::string(mode) != "--miss-policy auto")
            CHECK(hybrid.err.find("hybrid: ") != std::string::npos);
    }
    const Result bad_predictor = run_ferry(args + " --vram-budget 3.5M --predictor foo");
    CHECK(bad_predictor.status == 1);
    CHECK(one_error_line(bad_predictor));
    CHECK(bad_predictor.err.find("--predictor") != std::string::npos);
    const Result too_small = run_ferry(args + " --vram-budget 3M");
    CHECK(too_small.status == 1);
    CHECK(one_error_line(too_small));
    CHECK(too_small.err.find("needs at least") != std::string::npos);
}

TEST_CASE("run on a device that binds little caps the expert slots and prints the same text") {
    if (!ferry::test::vulkan_device()) return;
    const std::string args =
        "run -m " + tiny_model() + " -p 'Hello there' -n 8 --temp 0 --ignore-eos --ctx 64";
    const Result resident = run_ferry(args);
    REQUIRE(resident.status == 0);
    // The tiny model's largest expert slice is 52.5 KiB: a 128 KiB binding holds 2 of its 8
    // experts per layer, whatever the budget.
    const Result capped = run_ferry(args, "FERRY_MAX_BINDING=128K");
    REQUIRE(capped.status == 0);
    CHECK(capped.err.find("2 of 8 experts per layer") != std::string::npos);
    CHECK(capped.err.find("buffer binding of this device") != std::string::npos);
    CHECK(capped.out == resident.out);
    // Under one slice: one error line, not a budget figure.
    const Result none = run_ferry(args, "FERRY_MAX_BINDING=16K");
    CHECK(none.status == 1);
    CHECK(one_error_line(none));
    CHECK(none.err.find("more than this device can bind in one buffer") != std::string::npos);
    const Result bad = run_ferry(args, "FERRY_MAX_BINDING=lots");
    CHECK(bad.status == 1);
    CHECK(one_error_line(bad));
}
