// ferry bench: prefill and decode speed, llama-bench style, with the bytes each decode
// token reads and the fraction of the device's copy bandwidth that makes.
#include "app/command_registry.h"
#include "app/model_session.h"
#include "app/offload_report.h"
#include "base/error.h"
#include "base/timing.h"
#include "base/units.h"
#include "vk/barrier.h"
#include "vk/copy_rate.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>

namespace ferry::app {
namespace {

struct BenchOptions {
    ModelOptions model;
    std::vector<std::uint32_t> prompt_sizes{64};
    std::vector<std::uint32_t> gen_sizes{32};
    int repetitions = 3;
    std::string json_out;
};

struct Figure {
    std::string test;
    Samples tokens_per_s;
};

// Device copy bandwidth (read + write bytes per second) between two device-local buffers of
// up to 64 MiB each: the bound a bandwidth-bound decode step is compared with. Timed with GPU
// timestamps where the queue has them (no submission latency in it), else on the host.
struct CopyBandwidth {
    double bytes_per_s = 0;  // 0: not measured (no room left in the budget)
    std::uint64_t buffer_bytes = 0;
    bool gpu_timed = false;
};

CopyBandwidth measure_copy_bandwidth(vk::Device& device) {
    CopyBandwidth result;
    const std::uint64_t bytes = std::min<std::uint64_t>(64ull << 20, device.accountant().available() / 3);
    if (bytes < (1u << 20)) return result;
    vk::Buffer a(device, bytes, vk::MemoryKind::DeviceLocal, "bandwidth probe");
    vk::Buffer b(device, bytes, vk::MemoryKind::DeviceLocal, "bandwidth probe");
    const vk::CopyStep there_and_back[] = {{&a, &b}, {&b, &a}};
    const vk::CopyTiming t = vk::time_copies(device, vk::QueueKind::Compute, there_and_back, 3);
    result.bytes_per_s = 4.0 * double(bytes) / t.seconds;  // 2 copies, each read + write
    result.buffer_bytes = bytes;
    result.gpu_timed = t.gpu_timed;
    return result;
}

void run(const BenchOptions& o) {
    if (o.repetitions < 1) fail("-r must be at least 1");
    ModelSession session(o.model);
    model::GpuModel& m = session.model();
    const model::ModelConfig& c = m.config();

    // Bytes one decode token reads: dense weights + top-k experts in every layer.
    std::uint64_t dense = 0, expert = 0;
    for (const gguf::TensorInfo& t : session.file().tensors()) {
        if (t.name.find("_exps.") != std::string::npos)
            expert += t.bytes;
        else if (t.name != "token_embd.weight")
            dense += t.bytes;
    }
    const double per_token = double(dense) + double(expert) * c.n_experts_used / std::max(1u, c.n_experts);
    const CopyBandwidth probe = measure_copy_bandwidth(session.device());
    const double bandwidth = probe.bytes_per_s;

    std::vector<Figure> figures;
    auto tokens_for = [&](std::uint32_t n) {
        std::vector<std::int32_t> t(n);
        for (std::uint32_t i = 0; i < n; ++i) t[i] = std::int32_t((i * 7919 + 13) % c.n_vocab);
        return t;
    };
    for (std::uint32_t p : o.prompt_sizes) {
        if (p == 0 || p > m.n_ctx()) fail("-p {} must be between 1 and --ctx {}", p, m.n_ctx());
        Figure f{fmt::format("pp{}", p), {}};
        m.reset();
        m.forward(tokens_for(std::min<std::uint32_t>(p, 8)));  // warm-up: pipelines, caches
        for (int r = 0; r < o.repetitions; ++r) {
            m.reset();
            const auto t = std::chrono::steady_clock::now();
            m.forward(tokens_for(p));
            f.tokens_per_s.values.push_back(p / seconds_since(t));
        }
        figures.push_back(f);
    }
    for (std::uint32_t n : o.gen_sizes) {
        if (n == 0 || n + 1 > m.n_ctx()) fail("-n {} must be between 1 and --ctx - 1", n);
        Figure f{fmt::format("tg{}", n), {}};
        for (int r = 0; r < o.repetitions; ++r) {
            m.reset();
            m.forward(std::vector<std::int32_t>{1});
            const auto t = std::chrono::steady_clock::now();
            for (std::uint32_t i = 0; i < n; ++i)
                m.forward(std::vector<std::int32_t>{std::int32_t(i % c.n_vocab)});
            f.tokens_per_s.values.push_back(n / seconds_since(t));
        }
        figures.push_back(f);
    }

    fmt::print("| model | size | device | test | t/s | weights GB/s | % of copy bandwidth |\n");
    fmt::print("|---|---:|---|---|---:|---:|---:|\n");
    nlohmann::json json = {{"model", o.model.model_path},
                           {"file_bytes", session.file().file_size()},
                           {"device", session.device().info().name},
                           {"bytes_per_decode_token", per_token},
                           {"copy_bandwidth_gbs", bandwidth / 1e9},
                           {"results", nlohmann::json::array()}};
    for (const Figure& f : figures) {
        const bool decode = f.test.starts_with("tg");
        const double gbs = decode ? f.tokens_per_s.mean() * per_token / 1e9 : 0;
        const std::string fraction =
            decode && bandwidth > 0 ? fmt::format("{:.1f}%", 100 * gbs * 1e9 / bandwidth) : "-";
        fmt::print("| {} | {} | {} | {} | {:.2f} ± {:.2f} | {} | {} |\n", session.file().name(),
                   format_bytes(session.file().file_size()), session.device().info().name, f.test,
                   f.tokens_per_s.mean(), f.tokens_per_s.sd(), decode ? fmt::format("{:.2f}", gbs) : "-",
                   fraction);
        json["results"].push_back({{"test", f.test},
                                   {"tokens_per_s", f.tokens_per_s.values},
                                   {"mean", f.tokens_per_s.mean()},
                                   {"sd", f.tokens_per_s.sd()},
                                   {"weights_gbs", gbs}});
    }
    if (m.offloading()) {
        const offload::OffloadStats st = m.offload_stats();
        fmt::print("\n{}", offload_report(st, m.tokens_processed()));
        json["offload"] = {{"hits", st.hits},
                           {"misses", st.misses},
                           {"bytes_uploaded", st.bytes_uploaded},
                           {"stall_s", st.stall_s},
                           {"prefetched", st.prefetched},
                           {"prefetch_used", st.prefetch_used},
                           {"predicted", st.predicted},
                           {"predicted_right", st.predicted_right},
                           {"cpu_experts", st.cpu_experts},
                           {"link_bytes", st.link_bytes},
                           {"link_s", st.link_s},
                           {"tokens", m.tokens_processed()}};
    }
    if (bandwidth > 0)
        fmt::print(
            "\nbound: device copy bandwidth {:.1f} GB/s (read + write, {} buffers, {}-timed); a decode "
            "token reads {}\n",
            bandwidth / 1e9, format_bytes(probe.buffer_bytes), probe.gpu_timed ? "GPU" : "host",
            format_bytes(std::uint64_t(per_token)));
    else
        fmt::print(
            "\nbound: device copy bandwidth not measured (the budget leaves under 3 MiB for its probe); "
            "a decode token reads {}\n",
            format_bytes(std::uint64_t(per_token)));
    if (!o.json_out.empty()) {
        std::ofstream out(o.json_out);
        if (!out) fail("cannot write {}", o.json_out);
        out << json.dump(2) << "\n";
    }
}

void add_bench_command(CLI::App& parent) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* cmd = parent.add_subcommand(
        "bench", "Prefill and decode speed (tokens/s, mean ± sd over repetitions) with GB/s of weights read");
    add_model_options(cmd, o->model);
    cmd->add_option("-p,--n-prompt", o->prompt_sizes, "Prefill sizes to test")->capture_default_str();
    cmd->add_option("-n,--n-gen", o->gen_sizes, "Decode lengths to test")->capture_default_str();
    cmd->add_option("-r,--repetitions", o->repetitions, "Repetitions of each test")->capture_default_str();
    cmd->add_option("--json", o->json_out, "Also write the figures as JSON to this file");
    cmd->callback([o] { run(*o); });
}

const CommandRegistration registration{"bench", 60, add_bench_command};

}  // namespace
}  // namespace ferry::app
