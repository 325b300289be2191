// Offloaded and hybrid MoE execution of a whole model across VRAM budgets and miss
// policies: prefill and decode tokens/s, expert cache hits, bytes copied per decode token,
// stall time, prefetch accuracy, the CPU's share of experts and the VRAM actually used,
// next to the upload bound (the decode speed a token's misses allow if copying them over
// the measured host -> device bandwidth were the only cost).
//
// Budgets are expert slots per layer, given as a share of the layer's experts ("40%"), a
// count ("1") or "all" (every expert resident: the reference run). Modes for an offloaded
// budget: copy (misses copied in, lookahead prefetch on), copy-noprefetch, cpu (misses
// computed on the CPU), auto (the cost model of offload/miss_cost.h splits them), and
// cpu-moe once (every routed expert on the CPU). Each configuration gets a fresh Vulkan
// device and GpuModel (loading is not timed); each repetition resets the context, runs
// the prompt as prefill and then decodes greedily (argmax) from its logits.
//
// This is not a test: it only warns when a mode's greedy tokens differ from the resident
// run's (hybrid modes may, within the CPU kernels' tolerance; a copy mode must not, and is
// reported as MISMATCH).
//
//   bench_offload [-m FILE | --preset demo] [--slots all,40%,20%,10%,1]
//                 [--modes copy,copy-noprefetch,cpu,auto,cpu-moe] [-p 16] [-n 32] [-r 2]
//                 [-b 64] [--threads N] [--cache-policy lru] [--csv FILE] [--out FILE.json]
#include "base/error.h"
#include "base/timing.h"
#include "base/units.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/gpu_model.h"
#include "model/summary.h"
#include "model/synthetic_model.h"
#include "offload/miss_cost.h"
#include "sample/sampler.h"
#include "scheduler/policy.h"
#include "scheduler/trace.h"
#include "vk/buffer.h"
#include "vk/command.h"
#include "vk/copy_rate.h"
#include "vk/device.h"
#include "vk/instance.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace ferry;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string model_path;  // empty: generate `preset`
    std::string preset = "demo";
    std::string predictor = "gate";                 // prefetch predictor spec (scheduler/predictor.h)
    std::string trace_path;                         // --trace: force decode routing from a real trace
    std::shared_ptr<const scheduler::Trace> trace;  // loaded from trace_path
    std::vector<std::string> budgets{"all", "40%", "20%", "10%", "1"};
    std::vector<std::string> modes{"copy", "copy-noprefetch", "cpu", "auto", "cpu-moe"};
    std::uint32_t prompt = 16;  // 32 already takes over 5 minutes on a 2-core VM with lavapipe
    std::uint32_t gen = 32;
    int repetitions = 2;
    std::uint32_t batch = 64;
    int threads = 0;  // CPU expert threads; 0: every core
    std::string cache_policy = "lru";
    std::string csv_out;
    std::string json_out;
};

enum class Mode { Resident, Copy, CopyNoPrefetch, Cpu, Auto, CpuMoe };

std::string_view mode_name(Mode m) {
    switch (m) {
        case Mode::Resident:
            return "resident";
        case Mode::Copy:
            return "copy";
        case Mode::CopyNoPrefetch:
            return "copy-noprefetch";
        case Mode::Cpu:
            return "cpu";
        case Mode::Auto:
            return "auto";
        case Mode::CpuMoe:
            return "cpu-moe";
    }
    return "?";
}

Mode parse_mode(std::string_view text) {
    for (Mode m : {Mode::Copy, Mode::CopyNoPrefetch, Mode::Cpu, Mode::Auto, Mode::CpuMoe})
        if (mode_name(m) == text) return m;
    fail("--modes: unknown mode '{}' (choose from copy, copy-noprefetch, cpu, auto, cpu-moe)", text);
}

// Copy modes compute every expert on the GPU with the resident path's kernels: their tokens
// must equal the resident run's. The others use the CPU's kernels for some experts.
bool exact_mode(Mode m) {
    return m == Mode::Copy || m == Mode::CopyNoPrefetch;
}

// One row of the table.
struct Config {
    std::string budget;   // as given: "all", "40%", "1"; "-" for cpu-moe
    std::uint32_t slots;  // expert slots per layer; 0: every expert resident
    Mode mode;
};

// "all" -> 0 (resident); "N%" -> that share of the layer's experts, at least 1; "N" -> N slots.
// A count at or above the expert count is "all".
std::uint32_t parse_budget(const std::string& text, std::uint32_t n_experts) {
    if (text == "all") return 0;
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        const bool percent = used + 1 == text.size() && text.back() == '%';
        if ((used == text.size() || percent) && v > 0) {
            const double slots = percent ? std::round(v * n_experts / 100.0) : v;
            if (slots >= n_experts) return 0;
            return std::max<std::uint32_t>(1, std::uint32_t(slots));
        }
    } catch (const std::exception&) {
    }
    fail("--slots: '{}' is not 'all', a share like '40%' or a slot count like '1'", text);
}

// max_slots: the slots per layer one storage binding of the device holds (model/summary.h).
std::vector<Config> configurations(const Options& o, std::uint32_t n_experts, std::uint32_t max_slots) {
    std::vector<Mode> modes;
    for (const std::string& m : o.modes) modes.push_back(parse_mode(m));
    std::vector<Config> out;
    auto add = [&](Config c) {
        for (const Config& have : out)
            if (have.slots == c.slots && have.mode == c.mode) return;  // "10%" and "3" can coincide
        out.push_back(std::move(c));
    };
    for (const std::string& b : o.budgets) {
        std::uint32_t slots = parse_budget(b, n_experts);
        if ((slots == 0 || slots > max_slots) && max_slots < n_experts) {
            fmt::print(
                stderr,
                "bench_offload: --slots {}: this device binds at most {} of {} experts per layer in one "
                "buffer; measuring {} instead{}\n",
                b, max_slots, n_experts, max_slots, slots == 0 ? " (no resident reference)" : "");
            slots = max_slots;
        }
        if (slots == 0) add({b, 0, Mode::Resident});
        for (Mode m : modes)
            if (slots > 0 && m != Mode::CpuMoe) add({b, slots, m});
    }
    if (std::find(modes.begin(), modes.end(), Mode::CpuMoe) != modes.end()) add({"-", 0, Mode::CpuMoe});
    return out;
}

offload::OffloadStats operator-(const offload::OffloadStats& a, const offload::OffloadStats& b) {
    return {.hits = a.hits - b.hits,
            .misses = a.misses - b.misses,
            .bytes_uploaded = a.bytes_uploaded - b.bytes_uploaded,
            .prefetched = a.prefetched - b.prefetched,
            .prefetch_used = a.prefetch_used - b.prefetch_used,
            .predicted = a.predicted - b.predicted,
            .predicted_right = a.predicted_right - b.predicted_right,
            .stall_s = a.stall_s - b.stall_s,
            .cpu_experts = a.cpu_experts - b.cpu_experts};
}

offload::OffloadStats& operator+=(offload::OffloadStats& a, const offload::OffloadStats& b) {
    a.hits += b.hits;
    a.misses += b.misses;
    a.bytes_uploaded += b.bytes_uploaded;
    a.prefetched += b.prefetched;
    a.prefetch_used += b.prefetch_used;
    a.predicted += b.predicted;
    a.predicted_right += b.predicted_right;
    a.stall_s += b.stall_s;
    a.cpu_experts += b.cpu_experts;
    return a;
}

double ratio(double part, double whole) {
    return whole > 0 ? part / whole : 0;
}

// What one configuration measured. Offload figures cover the timed decode steps only.
struct Row {
    Config config;
    std::uint64_t vram_peak = 0;  // device-local bytes at most, load and runs included
    Samples prefill_tps, decode_tps;
    offload::OffloadStats decode;
    std::uint64_t decode_tokens = 0;
    std::vector<std::vector<int>> tokens;     // greedy tokens per repetition
    std::vector<float> prefill_logits;        // of the first repetition
    std::optional<offload::MissRates> rates;  // the cost model's rates after the runs (hybrid)
    bool reference = false;                   // the resident run the others are compared with
    bool compared = false;                    // with the resident run:
    int first_diff = -1;                      // first greedy token that differs; -1: none
    double logit_diff = 0;                    // max |prefill logit - resident's|

    double uses() const { return double(decode.hits + decode.misses); }
    double hit_rate() const { return ratio(decode.hits, uses()); }
    double per_token(double v) const { return ratio(v, double(decode_tokens)); }
};

// The model file's shape, as far as this bench needs it.
struct ModelFacts {
    model::ModelConfig config;
    std::uint64_t expert_bytes = 0;  // one routed expert (gate + up + down), mean over layers
};

ModelFacts model_facts(const gguf::File& file) {
    ModelFacts f{model::read_config(file), 0};
    std::uint64_t bytes = 0, moe_layers = 0;
    for (const gguf::TensorInfo& t : file.tensors()) {
        if (t.name.find("_exps.") == std::string::npos) continue;
        bytes += t.bytes;
        if (t.name.find("ffn_down_exps.") != std::string::npos) ++moe_layers;
    }
    if (moe_layers == 0 || f.config.n_experts == 0)
        fail("{}: no routed expert tensors (*_exps.weight); bench_offload needs a MoE model", file.name());
    f.expert_bytes = bytes / (moe_layers * f.config.n_experts);
    return f;
}

// Host -> device bytes per second: a 64 MiB staging buffer copied to device-local memory on
// the transfer queue, best of 3 after a warm-up copy.
double measure_upload_bandwidth(vk::Device& device) {
    const std::uint64_t bytes = std::min<std::uint64_t>(64ull << 20, device.accountant().available() / 2);
    if (bytes < (1u << 20)) return 0;
    vk::Buffer staging(device, bytes, vk::MemoryKind::Staging, "upload probe (staging)");
    std::memset(staging.bytes().data(), 1, staging.bytes().size());  // pages touched before timing
    vk::Buffer dst(device, bytes, vk::MemoryKind::DeviceLocal, "upload probe");
    const vk::CopyStep upload[] = {{&staging, &dst}};
    return double(bytes) / vk::time_copies(device, vk::QueueKind::Transfer, upload, 3).seconds;
}

model::GpuModelOptions model_options(const Config& c, const Options& o) {
    model::GpuModelOptions g;
    g.n_ctx = o.prompt + o.gen;
    g.max_batch = o.batch;
    g.expert_slots = c.slots;
    g.cache_policy = o.cache_policy;
    g.prefetch = c.mode != Mode::CopyNoPrefetch;
    g.predictor = o.predictor;
    g.miss_policy = c.mode == Mode::Cpu    ? offload::MissPolicy::Cpu
                    : c.mode == Mode::Auto ? offload::MissPolicy::Auto
                                           : offload::MissPolicy::Copy;
    g.cpu_moe = c.mode == Mode::CpuMoe;
    g.threads = o.threads;
    if (o.trace) {
        // Decode position p replays the trace's token p (wrapping), every layer's choice.
        g.route_override = [trace = o.trace](std::uint32_t layer, std::uint32_t position,
                                             std::span<std::int32_t> ids, std::span<float> weights) {
            const std::uint64_t token = position % trace->n_tokens();
            if (!trace->has(token, layer)) return false;
            const std::span<const scheduler::Choice> chosen = trace->at(token, layer);
            if (chosen.size() != ids.size()) return false;
            for (std::size_t k = 0; k < chosen.size(); ++k) {
                ids[k] = std::int32_t(chosen[k].expert);
                weights[k] = chosen[k].weight;
            }
            return true;
        };
    }
    return g;
}

struct Generation {
    double prefill_s = 0, decode_s = 0;
    std::vector<float> prefill_logits;  // the prompt's last token's
    std::vector<int> tokens;            // the prompt's greedy next token, then one per decode step
    offload::OffloadStats decode;
};

// From an empty context: the prompt in one forward call (batches of max_batch inside), then
// `n` greedy decode steps, each fed the previous step's argmax.
Generation generate(model::GpuModel& m, std::span<const std::int32_t> prompt, std::uint32_t n) {
    Generation g;
    m.reset();
    auto t0 = Clock::now();
    g.prefill_logits = m.forward(prompt);
    g.prefill_s = seconds_since(t0);
    std::int32_t token = sample::argmax(g.prefill_logits);
    g.tokens.push_back(token);
    const offload::OffloadStats before = m.offload_stats();
    t0 = Clock::now();
    for (std::uint32_t i = 0; i < n; ++i) {
        token = sample::argmax(m.forward(std::span<const std::int32_t>(&token, 1)));
        g.tokens.push_back(token);
    }
    g.decode_s = seconds_since(t0);
    g.decode = m.offload_stats() - before;
    return g;
}

std::vector<std::int32_t> prompt_tokens(std::uint32_t n, std::uint32_t n_vocab) {
    std::vector<std::int32_t> t(n);
    for (std::uint32_t i = 0; i < n; ++i) t[i] = std::int32_t((i * 7919u + 13u) % n_vocab);
    return t;
}

// One configuration on a fresh device (so the accountant's peak is this model's alone).
Row measure(const vk::Instance& instance, const vk::DeviceOptions& device_options, const gguf::File& file,
            const Config& config, const Options& o, std::span<const std::int32_t> prompt) {
    Row row;
    row.config = config;
    vk::Device device(instance, device_options);
    model::GpuModel m(device, file, model_options(config, o));
    generate(m, prompt.first(std::min<std::size_t>(prompt.size(), 4)),
             1);  // warm-up: first use of everything
    for (int r = 0; r < o.repetitions; ++r) {
        const Generation g = generate(m, prompt, o.gen);
        row.prefill_tps.values.push_back(prompt.size() / g.prefill_s);
        row.decode_tps.values.push_back(o.gen / g.decode_s);
        row.decode += g.decode;
        row.decode_tokens += o.gen;
        row.tokens.push_back(g.tokens);
        if (r == 0) row.prefill_logits = g.prefill_logits;
    }
    if (const offload::MissCostModel* cost = m.miss_cost()) row.rates = cost->rates();
    row.vram_peak = device.accountant().peak();
    return row;
}

double max_abs_difference(std::span<const float> a, std::span<const float> b) {
    if (a.size() != b.size()) return INFINITY;
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
    return d;
}

// First position where any repetition's tokens differ from the reference's first; -1: none.
int first_difference(const Row& row, const std::vector<int>& reference) {
    int first = -1;
    for (const std::vector<int>& t : row.tokens) {
        const auto [a, b] = std::mismatch(t.begin(), t.end(), reference.begin(), reference.end());
        if (a == t.end() && b == reference.end()) continue;
        const int at = int(a - t.begin());
        first = first < 0 ? at : std::min(first, at);
    }
    return first;
}

// Marks the first resident run as the reference and compares the others' greedy tokens and
// prefill logits with it; false when there is no resident run.
bool compare_with_resident(std::vector<Row>& rows) {
    const auto ref =
        std::find_if(rows.begin(), rows.end(), [](const Row& r) { return r.config.mode == Mode::Resident; });
    if (ref == rows.end()) return false;
    ref->reference = true;
    for (Row& r : rows) {
        if (r.reference) continue;
        r.compared = true;
        r.first_diff = first_difference(r, ref->tokens.front());
        r.logit_diff = max_abs_difference(r.prefill_logits, ref->prefill_logits);
    }
    return true;
}

std::string slots_label(const Config& c, std::uint32_t n_experts) {
    if (c.mode == Mode::CpuMoe) return "0 (cpu-moe)";
    if (c.slots == 0) return fmt::format("{} (all)", n_experts);
    return fmt::format("{} ({:.0f}%)", c.slots, 100.0 * c.slots / n_experts);
}

// Decode tokens/s if copying the misses' bytes were the only cost; 0 without misses.
double upload_bound(const Row& r, const ModelFacts& f, double upload_bytes_per_s) {
    const double miss_bytes = r.per_token(double(r.decode.misses) * double(f.expert_bytes));
    return miss_bytes > 0 ? upload_bytes_per_s / miss_bytes : 0;
}

std::string tokens_label(const Row& r) {
    if (r.reference) return "reference";
    if (!r.compared) return "-";
    if (r.first_diff < 0) return "same";
    return fmt::format("{} at {}", exact_mode(r.config.mode) ? "MISMATCH" : "differ", r.first_diff);
}

std::string command_line(int argc, char** argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
    return s;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("model name"))
            if (const auto colon = line.find(':'); colon != std::string::npos) return line.substr(colon + 2);
    return "unknown CPU";
}

struct Header {
    std::string command, device, cpu;
    unsigned cpu_threads = 0;
    std::string model_path;
    std::uint64_t model_bytes = 0;
    double upload_bytes_per_s = 0;
};

std::string markdown(const Header& h, const ModelFacts& f, const Options& o, const std::vector<Row>& rows) {
    const model::ModelConfig& c = f.config;
    std::ostringstream md;
    md << fmt::format("Command: `{}`\n", h.command);
    md << fmt::format("Machine: {}; {} CPU threads ({})\n", h.device, h.cpu_threads, h.cpu);
    md << fmt::format(
        "Model: {} ({}), {} layers, {} experts top-{}, {} per expert; prompt {} tokens (batch {}), "
        "decode {} tokens, {} repetitions, cache policy {}\n",
        h.model_path, format_bytes(h.model_bytes), c.n_layers, c.n_experts, c.n_experts_used,
        format_bytes(f.expert_bytes), o.prompt, o.batch, o.gen, o.repetitions, o.cache_policy);
    md << fmt::format(
        "Host -> device bandwidth: {:.2f} GB/s (64 MiB staging -> device-local copy on the transfer "
        "queue, best of 3)\n\n",
        h.upload_bytes_per_s / 1e9);
    md << fmt::format(
        "| slots / layer | mode | VRAM MiB | pp{} t/s | tg{} t/s | hit % | uploaded KiB/tok | miss KiB/tok | "
        "upload bound t/s | tg of bound | stall ms/tok | prefetch used % | CPU experts % | greedy tokens | "
        "prefill max abs Δlogit |\n",
        o.prompt, o.gen);
    md << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n";
    for (const Row& r : rows) {
        const bool offloaded = r.uses() > 0;
        const double bound = upload_bound(r, f, h.upload_bytes_per_s);
        auto cell = [](bool show, double v, int digits) {
            return show ? fmt::format("{:.{}f}", v, digits) : std::string("-");
        };
        const std::vector<std::string> cells = {
            slots_label(r.config, c.n_experts),
            std::string(mode_name(r.config.mode)),
            fmt::format("{:.1f}", r.vram_peak / 1048576.0),
            fmt::format("{:.2f} ± {:.2f}", r.prefill_tps.mean(), r.prefill_tps.sd()),
            fmt::format("{:.2f} ± {:.2f}", r.decode_tps.mean(), r.decode_tps.sd()),
            cell(offloaded, 100 * r.hit_rate(), 1),
            cell(offloaded, r.per_token(double(r.decode.bytes_uploaded)) / 1024, 1),
            cell(offloaded, r.per_token(double(r.decode.misses * f.expert_bytes)) / 1024, 1),
            cell(bound > 0, bound, 1),
            bound > 0 ? fmt::format("{:.1f}%", 100 * r.decode_tps.mean() / bound) : std::string("-"),
            cell(offloaded, 1e3 * r.per_token(r.decode.stall_s), 2),
            cell(r.decode.prefetched > 0, 100 * ratio(r.decode.prefetch_used, r.decode.prefetched), 1),
            cell(offloaded, 100 * ratio(r.decode.cpu_experts, r.uses()), 1),
            tokens_label(r),
            r.compared ? fmt::format("{:.3g}", r.logit_diff) : std::string("-")};
        md << fmt::format("| {} |\n", fmt::join(cells, " | "));
    }
    return md.str();
}

// Lines under the table for every run whose greedy tokens differ from the resident run's.
std::string warnings(const std::vector<Row>& rows, std::uint32_t n_experts) {
    std::string out;
    for (const Row& r : rows) {
        if (!r.compared || r.first_diff < 0) continue;
        const std::string what = fmt::format(
            "{}, {} slots per layer: greedy tokens differ from the resident run's at position {} "
            "(prefill logits by up to {:.3g})",
            mode_name(r.config.mode), slots_label(r.config, n_experts), r.first_diff, r.logit_diff);
        if (exact_mode(r.config.mode))
            out += fmt::format(
                "**MISMATCH**: {}; a copy mode must give identical results (see tests/model)\n", what);
        else
            out += fmt::format(
                "warning: {}; hybrid modes compute some experts with the CPU kernels: equal within their "
                "tolerance, not bit-identical\n",
                what);
    }
    return out;
}

nlohmann::json rates_json(const std::optional<offload::MissRates>& r) {
    if (!r) return nullptr;
    return {{"upload_bytes_per_s", r->upload_bytes_per_s},
            {"cpu_bytes_per_s", r->cpu_bytes_per_s},
            {"gpu_bytes_per_s", r->gpu_bytes_per_s},
            {"gpu_pass_s", r->gpu_pass_s},
            {"cpu_fixed_s", r->cpu_fixed_s},
            {"shared_cores", r->shared_cores}};
}

// Plain numbers per configuration: the CSV and the JSON results share them.
std::vector<std::pair<std::string, double>> row_numbers(const Row& r, const ModelFacts& f, double upload) {
    const double bound = upload_bound(r, f, upload);
    return {{"slots", r.config.slots},
            {"slots_share", ratio(r.config.slots, f.config.n_experts)},
            {"vram_peak_bytes", double(r.vram_peak)},
            {"prefill_tps_mean", r.prefill_tps.mean()},
            {"prefill_tps_sd", r.prefill_tps.sd()},
            {"decode_tps_mean", r.decode_tps.mean()},
            {"decode_tps_sd", r.decode_tps.sd()},
            {"decode_tokens", double(r.decode_tokens)},
            {"hit_rate", r.hit_rate()},
            {"uploaded_bytes_per_token", r.per_token(double(r.decode.bytes_uploaded))},
            {"miss_bytes_per_token", r.per_token(double(r.decode.misses * f.expert_bytes))},
            {"upload_bound_tps", bound},
            {"decode_of_bound", ratio(r.decode_tps.mean(), bound)},
            {"stall_ms_per_token", 1e3 * r.per_token(r.decode.stall_s)},
            {"prefetched", double(r.decode.prefetched)},
            {"prefetch_used_rate", ratio(r.decode.prefetch_used, r.decode.prefetched)},
            {"lookahead_recall", ratio(r.decode.predicted_right, r.decode.predicted)},
            {"cpu_experts_share", ratio(r.decode.cpu_experts, r.uses())},
            {"tokens_first_diff", r.compared ? r.first_diff : -2},
            {"prefill_logit_max_abs_diff", r.compared ? r.logit_diff : -1}};
}

// Integers in full ("38627328", not "3.86e+07"), other values to 6 significant digits.
std::string plain_number(double v) {
    return v == std::floor(v) && std::fabs(v) < 1e15 ? fmt::format("{:.0f}", v) : fmt::format("{:.6g}", v);
}

void write_csv(const std::string& path, const std::vector<Row>& rows, const ModelFacts& f, double upload) {
    std::ofstream out(path);
    if (!out) fail("--csv: cannot write {}", path);
    out << "mode";
    for (const auto& [name, v] : row_numbers(rows.front(), f, upload)) out << "," << name;
    out << "\n";
    for (const Row& r : rows) {
        out << mode_name(r.config.mode);
        for (const auto& [name, v] : row_numbers(r, f, upload)) out << "," << plain_number(v);
        out << "\n";
    }
}

void write_json(const std::string& path, const Header& h, const ModelFacts& f, const Options& o,
                const std::vector<Row>& rows) {
    nlohmann::json results = nlohmann::json::array();
    for (const Row& r : rows) {
        nlohmann::json j = {{"mode", mode_name(r.config.mode)},
                            {"budget", r.config.budget},
                            {"prefill_tps", r.prefill_tps.values},
                            {"decode_tps", r.decode_tps.values},
                            {"tokens", r.tokens},
                            {"miss_rates", rates_json(r.rates)},
                            {"stats",
                             {{"hits", r.decode.hits},
                              {"misses", r.decode.misses},
                              {"bytes_uploaded", r.decode.bytes_uploaded},
                              {"prefetched", r.decode.prefetched},
                              {"prefetch_used", r.decode.prefetch_used},
                              {"predicted", r.decode.predicted},
                              {"predicted_right", r.decode.predicted_right},
                              {"stall_s", r.decode.stall_s},
                              {"cpu_experts", r.decode.cpu_experts}}}};
        for (const auto& [name, v] : row_numbers(r, f, h.upload_bytes_per_s)) j[name] = v;
        results.push_back(std::move(j));
    }
    const nlohmann::json json = {{"benchmark", "offload"},
                                 {"command", h.command},
                                 {"device", h.device},
                                 {"cpu", h.cpu},
                                 {"cpu_threads", h.cpu_threads},
                                 {"model",
                                  {{"path", h.model_path},
                                   {"bytes", h.model_bytes},
                                   {"layers", f.config.n_layers},
                                   {"experts", f.config.n_experts},
                                   {"experts_used", f.config.n_experts_used},
                                   {"expert_bytes", f.expert_bytes}}},
                                 {"prompt", o.prompt},
                                 {"gen", o.gen},
                                 {"batch", o.batch},
                                 {"repetitions", o.repetitions},
                                 {"cache_policy", o.cache_policy},
                                 {"upload_bytes_per_s", h.upload_bytes_per_s},
                                 {"results", results}};
    std::ofstream out(path);
    if (!out) fail("--out: cannot write {}", path);
    out << json.dump(2) << "\n";
}

// -m FILE, or the preset written to a temporary file (removed at exit).
struct ModelFile {
    std::filesystem::path path;
    bool generated = false;
    ~ModelFile() {
        std::error_code ec;
        if (generated) std::filesystem::remove(path, ec);
    }
};

void open_model(const Options& o, ModelFile& mf) {
    if (!o.model_path.empty()) {
        mf.path = o.model_path;
        return;
    }
    mf.path = std::filesystem::temp_directory_path() /
              fmt::format("ferry-bench-offload-{}-{}.gguf", o.preset, ::getpid());
    fmt::print(stderr, "bench_offload: writing the {} preset to {}\n", o.preset, mf.path.string());
    mf.generated = true;
    model::SyntheticModelSpec spec = model::synthetic_preset(o.preset);
    if (o.trace) {  // the trace's geometry, so its expert ids and layers fit the model
        spec.n_layers = o.trace->n_layers();
        spec.n_experts = o.trace->info().n_experts;
        spec.n_experts_used = o.trace->info().top_k;
        fmt::print(stderr, "bench_offload: {} layers, {} experts, top-{} from the trace {}\n", spec.n_layers,
                   spec.n_experts, spec.n_experts_used, o.trace_path);
    }
    model::write_synthetic_model(spec, mf.path);
}

void check(const Options& o) {
    if (o.prompt == 0 || o.gen == 0) fail("-p and -n must be at least 1");
    if (o.repetitions < 1) fail("-r must be at least 1");
    if (o.batch == 0) fail("-b must be at least 1");
    const auto& policies = scheduler::policy_names();
    if (std::find(policies.begin(), policies.end(), o.cache_policy) == policies.end())
        fail("--cache-policy: unknown policy '{}'", o.cache_policy);
}

void run(const Options& o, const std::string& command) {
    check(o);
    ModelFile mf;
    open_model(o, mf);
    const gguf::File file = gguf::File::open(mf.path);
    const ModelFacts facts = model_facts(file);
    const std::vector<std::int32_t> prompt = prompt_tokens(o.prompt, facts.config.n_vocab);

    vk::Instance instance(vk::InstanceOptions::from_env());
    vk::DeviceOptions device_options;
    device_options.apply_env();
    Header h;
    std::uint32_t max_slots = facts.config.n_experts;
    h.command = command;
    h.cpu = cpu_model();
    h.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
    h.model_path = mf.generated ? fmt::format("preset {}", o.preset) : o.model_path;
    h.model_bytes = file.file_size();
    {
        vk::Device device(instance, device_options);
        h.device = fmt::format("{} ({}, {}, {})", device.info().name, device.info().driver_name,
                               device.info().driver_info, vk::device_type_name(device.info().type));
        h.upload_bytes_per_s = measure_upload_bandwidth(device);
        max_slots = model::slots_per_binding(model::summarize(file), model::GpuModel::max_pool_bytes(device));
    }
    const std::vector<Config> configs = configurations(o, facts.config.n_experts, max_slots);

    std::vector<Row> rows;
    for (std::size_t i = 0; i < configs.size(); ++i) {
        const Config& c = configs[i];
        rows.push_back(measure(instance, device_options, file, c, o, prompt));
        const Row& r = rows.back();
        fmt::print(stderr, "[{}/{}] {} {}: pp {:.2f} t/s, tg {:.2f} t/s\n", i + 1, configs.size(),
                   slots_label(c, facts.config.n_experts), mode_name(c.mode), r.prefill_tps.mean(),
                   r.decode_tps.mean());
    }
    const bool compared = compare_with_resident(rows);

    fmt::print("{}", markdown(h, facts, o, rows));
    if (!compared) fmt::print("\n(no resident run: greedy tokens not compared; add 'all' to --slots)\n");
    if (const std::string w = warnings(rows, facts.config.n_experts); !w.empty()) {
        fmt::print("\n{}", w);
        fmt::print(stderr, "{}", w);
    }
    if (!o.csv_out.empty()) write_csv(o.csv_out, rows, facts, h.upload_bytes_per_s);
    if (!o.json_out.empty()) write_json(o.json_out, h, facts, o, rows);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "Offload and hybrid MoE execution across VRAM budgets and miss policies: t/s, hits, bytes, bound"};
    app.add_option("-m,--model", o.model_path, "GGUF model (default: generate --preset)");
    app.add_option("--preset", o.preset, "synthetic model preset when no -m (tiny, demo, ...)")
        ->capture_default_str();
    app.add_option("--slots", o.budgets, "expert slots per layer: all, a share (40%) or a count")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--modes", o.modes,
                   "modes for offloaded budgets (copy, copy-noprefetch, cpu, auto, cpu-moe)")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("-p,--n-prompt", o.prompt, "prompt tokens (prefill)")->capture_default_str();
    app.add_option("-n,--n-gen", o.gen, "greedy decode tokens")->capture_default_str();
    app.add_option("-r,--repetitions", o.repetitions, "repetitions per configuration")->capture_default_str();
    app.add_option("-b,--batch-size", o.batch, "tokens per prefill batch")->capture_default_str();
    app.add_option("--threads", o.threads, "CPU threads for experts on the CPU (0: every core)")
        ->capture_default_str();
    app.add_option("--cache-policy", o.cache_policy, "expert slot eviction policy")->capture_default_str();
    app.add_option("--predictor", o.predictor,
                   "prefetch predictor: gate, repeat, transition, popularity or a mix (gate+repeat*0.5)")
        ->capture_default_str();
    app.add_option(
        "--trace", o.trace_path,
        "replay a routing trace's decode choices (e.g. ../shared/data/traces/*.jsonl) on a generated "
        "model of its geometry, so the cache sees a real model's locality (prefill keeps the model's "
        "own routing)");
    app.add_option("--csv", o.csv_out, "also write one CSV row per configuration to this file");
    app.add_option("--out", o.json_out, "also write the results as JSON to this file");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!o.trace_path.empty()) {
            if (!o.model_path.empty()) fail("--trace generates a model of the trace's geometry: drop -m");
            o.trace = std::make_shared<const scheduler::Trace>(scheduler::read_trace(o.trace_path));
            if (o.trace->n_tokens() == 0) fail("--trace {}: no tokens", o.trace_path);
        }
        run(o, command_line(argc, argv));
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_offload: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
