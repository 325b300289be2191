// GPU decode matvec (runtime/kernels/matvec.h) on Qwen3-30B-A3B shapes: time per dispatch
// and GB/s of weight bytes read, per weight type, next to the memory bandwidth bound. On a
// CPU Vulkan driver (lavapipe) the bound is the host's memcpy bandwidth measured here;
// Vulkan does not report a GPU's, so pass --bound-gbs for one.
//
// Each measured dispatch reads a different copy of the weights (copies fill
// --working-set MiB), so they stream from memory rather than from the last-level cache,
// as in a real forward pass. Dispatches follow each other with a compute-to-compute
// barrier; time is taken with GPU timestamps where the queue has them, else host wall
// time over whole submissions.
//
//   bench_matvec [--types Q4_K,Q6_K,Q8_0,F16] [--seconds S] [--working-set MiB]
//                [--shapes TEXT] [--workgroup N --rows N] [--bound-gbs G] [--out PATH_STEM]
// Writes PATH_STEM.md and PATH_STEM.json (default bench/results/matvec-<device>).
#include "bench_gpu_util.h"
#include "gguf/types.h"
#include "kernels/matvec.h"
#include "quant/quant.h"
#include "vk/barrier.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/instance.h"
#include "vk/transfer.h"
#include "vk/vulkan.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace ferry;
using gguf::TensorType;
using namespace ferry::bench;

namespace {

struct Options {
    std::vector<std::string> types{"Q4_K", "Q6_K", "Q8_0", "F16"};
    double seconds = 0.5;  // per measurement, at least
    std::uint64_t working_set_mib = 256;
    std::uint32_t workgroup = 0;  // 0: the device default
    std::uint32_t rows = 0;
    double bound_gbs = 0.0;  // 0: measured memcpy bandwidth on CPU drivers, else unknown
    std::string shapes;      // only shapes whose name contains this
    std::string out;
};

// Qwen3-30B-A3B (n_embd 2048, expert ff 768, 8 of 128 experts, 32 query heads of 128).
struct Shape {
    const char* name;
    std::uint32_t rows, cols;
    std::uint32_t slots;  // 0: plain matvec; else expert matvec over this many experts
    bool x_per_slot;
};
constexpr Shape kShapes[] = {
    {"expert gate/up: 8 x [768, 2048]", 768, 2048, 8, false},
    {"expert down: 8 x [2048, 768]", 2048, 768, 8, true},
    {"attn q: [4096, 2048]", 4096, 2048, 0, false},
    {"output head: [151936, 2048]", 151936, 2048, 0, false},
};

struct Result {
    std::string shape, type, variant;
    std::uint64_t weight_bytes = 0;  // per dispatch
    std::uint32_t copies = 0;
    std::uint64_t dispatches = 0;
    double seconds_per_dispatch = 0.0;
    double gbs() const { return static_cast<double>(weight_bytes) / seconds_per_dispatch / 1e9; }
};

Result measure(vk::Device& device, kernels::MatKernels& mat, Timer& timer, TensorType type, const Shape& s,
               const Options& opt) {
    const std::uint64_t row_bytes = gguf::row_bytes(gguf::type_traits(type), s.cols);
    const std::uint64_t matrix = (row_bytes * s.rows + 255) / 256 * 256;  // slots 256-byte aligned
    const std::uint32_t n = std::max(1u, s.slots);
    const std::uint64_t per_copy = matrix * n;
    const auto copies =
        static_cast<std::uint32_t>(std::clamp<std::uint64_t>((opt.working_set_mib << 20) / per_copy, 1, 64));

    Result r;
    r.shape = s.name;
    r.type = std::string(gguf::type_name(type));
    r.variant = mat.matvec_variant(type, s.slots > 0);
    r.weight_bytes = row_bytes * s.rows * n;
    r.copies = copies;

    // One buffer per copy: a binding spans at most maxStorageBufferRange (128 MiB on
    // lavapipe), and an expert pool is one binding.
    std::vector<vk::Buffer> pools;
    {
        const auto m = make_matrix(type, s.rows, s.cols);
        for (std::uint32_t k = 0; k < copies; ++k) {
            pools.emplace_back(device, per_copy, vk::MemoryKind::DeviceLocal, "weights");
            for (std::uint32_t e = 0; e < n; ++e) upload_at(device, pools.back(), m, e * matrix);
        }
    }
    std::vector<float> x(std::size_t{s.cols} * n);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& v : x) v = dist(rng);
    vk::Buffer dx(device, x.size() * 4, vk::MemoryKind::DeviceLocal, "x");
    vk::upload(device, dx, std::span<const float>(x));
    vk::Buffer dy(device, std::uint64_t{s.rows} * n * 4, vk::MemoryKind::DeviceLocal, "y");
    std::vector<std::uint32_t> table(n);
    for (std::uint32_t i = 0; i < n; ++i) table[i] = static_cast<std::uint32_t>(i * matrix);
    vk::Buffer dtable(device, n * 4, vk::MemoryKind::DeviceLocal, "slot offsets");
    vk::upload(device, dtable, std::span<const std::uint32_t>(table));

    auto record = [&](vk::CommandBuffer& cmd, std::uint32_t k) {
        if (s.slots)
            mat.expert_matvec(cmd, {.pool = &pools[k], .type = type, .rows = s.rows, .cols = s.cols}, dtable,
                              n, {.buffer = &dx, .slot_stride = s.x_per_slot ? s.cols : 0}, {.buffer = &dy});
        else
            mat.matvec(cmd, {.buffer = &pools[k], .type = type, .rows = s.rows, .cols = s.cols},
                       {.buffer = &dx}, {.buffer = &dy});
    };
    r.seconds_per_dispatch = time_dispatches(
        device, timer, std::max(copies, 2u), opt.seconds,
        [&](vk::CommandBuffer& cmd, std::uint32_t i) { record(cmd, i % copies); }, &r.dispatches);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    CLI::App app{"GPU decode matvec on Qwen3-30B-A3B shapes: time per dispatch, GB/s of weights read"};
    app.add_option("--types", opt.types, "weight types")->delimiter(',');
    app.add_option("--seconds", opt.seconds, "measuring time per case, at least");
    app.add_option("--working-set", opt.working_set_mib, "MiB of weight copies each case rotates over");
    app.add_option("--workgroup", opt.workgroup, "matvec invocations per workgroup (default: per device)");
    app.add_option("--rows", opt.rows, "matvec rows per workgroup (default: per device)");
    app.add_option("--bound-gbs", opt.bound_gbs, "memory bandwidth bound to print (GB/s)");
    app.add_option("--shapes", opt.shapes, "only the shapes whose name contains this text");
    app.add_option("--out", opt.out, "output path without extension (.md and .json are written)");
    CLI11_PARSE(app, argc, argv);

    try {
        vk::Instance instance(vk::InstanceOptions::from_env());
        vk::DeviceOptions device_options;
        device_options.apply_env();
        vk::Device device(instance, device_options);
        kernels::MatvecConfig config = kernels::default_matvec_config(device);
        if (opt.workgroup) config.workgroup_size = opt.workgroup;
        if (opt.rows) config.rows_per_workgroup = opt.rows;
        kernels::MatKernels mat(device, config);
        Timer timer(device);

        const bool cpu_driver = device.info().type == vk::DeviceType::Cpu;
        std::string bound_note;
        double bound = opt.bound_gbs;
        if (bound > 0) {
            bound_note = "given with --bound-gbs";
        } else if (cpu_driver) {
            bound = memcpy_bandwidth_gbs();
            bound_note = fmt::format("host memcpy on {} threads, bytes read + written",
                                     std::thread::hardware_concurrency());
        } else {
            bound_note = "unknown: Vulkan does not report memory bandwidth (pass --bound-gbs)";
        }

        std::vector<Result> results;
        for (const std::string& name : opt.types) {
            TensorType type{};
            bool found = false;
            for (std::uint32_t raw = 0; raw < 64 && !found; ++raw)
                if (auto t = gguf::type_traits(raw); t && t->name == name) type = t->type, found = true;
            if (!found || !kernels::supports(type))
                fail("--types: {} is not a type the GPU matvec runs", name);
            for (const Shape& s : kShapes) {
                if (!opt.shapes.empty() &&
                    std::string_view(s.name).find(opt.shapes) == std::string_view::npos)
                    continue;
                results.push_back(measure(device, mat, timer, type, s, opt));
                const Result& r = results.back();
                fmt::print(stderr, "{:<34} {:<5} {:9.1f} us  {:7.2f} GB/s\n", r.shape, r.type,
                           r.seconds_per_dispatch * 1e6, r.gbs());
            }
        }

        const std::string device_line =
            fmt::format("{} ({}, {}, {})", device.info().name, device.info().driver_name,
                        device.info().driver_info, vk::device_type_name(device.info().type));
        std::ostringstream md;
        md << fmt::format("Device: {}\n", device_line);
        md << fmt::format("Matvec config: {} invocations, {} rows per workgroup, {} reduction; timer: {}\n",
                          config.workgroup_size, config.rows_per_workgroup,
                          config.subgroup_reduce ? "subgroup" : "shared-memory",
                          timer.gpu() ? "GPU timestamps" : "host wall time");
        md << fmt::format("Bandwidth bound: {} ({})\n\n",
                          bound > 0 ? fmt::format("{:.1f} GB/s", bound) : std::string("n/a"), bound_note);
        md << "| shape | type | weight MiB | copies | us / dispatch | GB/s | of bound |\n";
        md << "|---|---|---:|---:|---:|---:|---:|\n";
        nlohmann::json rows = nlohmann::json::array();
        for (const Result& r : results) {
            md << fmt::format(
                "| {} | {} | {:.2f} | {} | {:.1f} | {:.2f} | {} |\n", r.shape, r.type,
                static_cast<double>(r.weight_bytes) / (1 << 20), r.copies, r.seconds_per_dispatch * 1e6,
                r.gbs(), bound > 0 ? fmt::format("{:.0f}%", 100.0 * r.gbs() / bound) : std::string("n/a"));
            rows.push_back({{"shape", r.shape},
                            {"type", r.type},
                            {"variant", r.variant},
                            {"weight_bytes", r.weight_bytes},
                            {"copies", r.copies},
                            {"dispatches", r.dispatches},
                            {"seconds_per_dispatch", r.seconds_per_dispatch},
                            {"gb_per_s", r.gbs()}});
        }
        const nlohmann::json json = {
            {"benchmark", "matvec"},
            {"device", device_line},
            {"config",
             {{"workgroup_size", config.workgroup_size},
              {"rows_per_workgroup", config.rows_per_workgroup},
              {"subgroup_reduce", config.subgroup_reduce}}},
            {"timer", timer.gpu() ? "gpu_timestamps" : "host_wall_time"},
            {"bound_gb_per_s", bound > 0 ? nlohmann::json(bound) : nlohmann::json(nullptr)},
            {"bound_note", bound_note},
            {"results", rows}};

        fmt::print("{}", md.str());
        write_results(opt.out, "matvec", device.info().name, md.str(), json);
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_matvec: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
