// Prefill products (runtime/kernels/matvec.h MatKernels::product: the tiled matmul, or the
// several-token matvec for short batches) on Qwen3-30B-A3B shapes: prompt tokens per second
// and GFLOP/s per weight type at 16, 64, 256 and 512 tokens, next to the device's arithmetic
// peak measured here (shaders/bench_fma.comp: independent vec4 FMA chains).
//
// A prefill product does 2 * rows * cols FLOPs per token. Dispatches follow each other with
// a compute-to-compute barrier; time is taken with GPU timestamps where the queue has them,
// else host wall time over whole submissions.
//
//   bench_matmul [--types Q4_K,Q6_K,Q8_0,F16] [--tokens 16,64,256,512] [--seconds S]
//                [--shapes TEXT] [--out PATH_STEM]
// Writes PATH_STEM.md and PATH_STEM.json (default bench/results/matmul-<device>).
#include "bench_gpu_util.h"
#include "kernels/matvec.h"
#include "vk/instance.h"
#include "vk/pipeline.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace ferry;
using namespace ferry::bench;

namespace {

struct Options {
    std::vector<std::string> types{"Q4_K", "Q6_K", "Q8_0", "F16"};
    std::vector<std::uint32_t> tokens{16, 64, 256, 512};
    double seconds = 0.3;  // per measurement, at least
    std::string shapes;
    std::string out;
};

struct Shape {
    const char* name;
    std::uint32_t rows, cols;
};
// Qwen3-30B-A3B: the q projection and one expert's gate (what a prefill chunk runs per expert).
constexpr Shape kShapes[] = {
    {"attn q: [4096, 2048]", 4096, 2048},
    {"expert gate: [768, 2048]", 768, 2048},
};

// GFLOP/s of shaders/bench_fma.comp over enough invocations to fill any device.
double fma_peak_gflops(vk::Device& device, Timer& timer, double seconds) {
    constexpr std::uint32_t wg = 256, groups = 1024, iters = 4096;
    const vk::Pipeline pipe(device, {.shader = "bench_fma",
                                     .spec_constants = {wg},
                                     .push_constant_bytes = 12,
                                     .storage_buffers = 1});
    vk::Buffer out(device, std::uint64_t{wg} * groups * 16, vk::MemoryKind::DeviceLocal, "fma out");
    struct {
        std::uint32_t iters;
        float a, b;
    } push{iters, 0.999f, 0.001f};
    const double s = time_dispatches(device, timer, 2, seconds, [&](vk::CommandBuffer& cmd, std::uint32_t) {
        cmd.dispatch({.pipeline = &pipe, .buffers = {out}, .push = vk::push_bytes(push), .groups = {groups, 1, 1}});
    });
    return double(wg) * groups * iters * 64 / s / 1e9;
}

struct Result {
    std::string shape, type, kernel;
    std::uint32_t tokens = 0;
    double seconds = 0.0;  // per product
    double flops = 0.0;    // per product
    double gflops() const { return flops / seconds / 1e9; }
    double tokens_per_s() const { return tokens / seconds; }
};

enum class Kernel { Product, Matmul, Matvec };  // product(): whichever it picks

Result measure(vk::Device& device, kernels::MatKernels& mat, Timer& timer, TensorType type, const Shape& s,
               std::uint32_t tokens, Kernel kernel, double seconds) {
    const auto m = make_matrix(type, s.rows, s.cols);
    vk::Buffer w(device, (m.size() + 3) / 4 * 4, vk::MemoryKind::DeviceLocal, "weights");
    upload_at(device, w, m, 0);
    std::vector<float> x(std::size_t{s.cols} * tokens);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& v : x) v = dist(rng);
    vk::Buffer dx(device, x.size() * 4, vk::MemoryKind::DeviceLocal, "x");
    vk::upload(device, dx, std::span<const float>(x));
    vk::Buffer dy(device, std::uint64_t{s.rows} * tokens * 4, vk::MemoryKind::DeviceLocal, "y");
    Result r{.shape = s.name,
             .type = std::string(gguf::type_name(type)),
             .kernel = kernel == Kernel::Product
                           ? (tokens <= mat.config().batch_tokens ? "product: matvec per token" : "product: tiled matmul")
                           : (kernel == Kernel::Matmul ? "tiled matmul" : "matvec per token"),
             .tokens = tokens,
             .flops = 2.0 * s.rows * s.cols * tokens};
    r.seconds = time_dispatches(device, timer, 4, seconds, [&](vk::CommandBuffer& cmd, std::uint32_t) {
        const kernels::DeviceMatrix dm{.buffer = &w, .type = type, .rows = s.rows, .cols = s.cols};
        if (kernel == Kernel::Matmul)
            mat.matmul(cmd, dm, {.buffer = &dx}, {.buffer = &dy}, tokens);
        else if (kernel == Kernel::Matvec)
            mat.matvec(cmd, dm, {.buffer = &dx}, {.buffer = &dy}, tokens);
        else
            mat.product(cmd, dm, {.buffer = &dx}, {.buffer = &dy}, tokens);
    });
    return r;
}

TensorType type_named(const std::string& name) {
    for (std::uint32_t raw = 0; raw < 64; ++raw)
        if (auto t = gguf::type_traits(raw); t && t->name == name && kernels::supports(t->type)) return t->type;
    fail("--types: {} is not a type the GPU kernels run", name);
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    CLI::App app{"GPU prefill products on Qwen3-30B-A3B shapes: tokens/s and GFLOP/s against the device's FMA peak"};
    app.add_option("--types", opt.types, "weight types")->delimiter(',');
    app.add_option("--tokens", opt.tokens, "prompt tokens per product")->delimiter(',');
    app.add_option("--seconds", opt.seconds, "measuring time per case, at least");
    app.add_option("--shapes", opt.shapes, "only the shapes whose name contains this text");
    app.add_option("--out", opt.out, "output path without extension (.md and .json are written)");
    CLI11_PARSE(app, argc, argv);

    try {
        vk::Instance instance(vk::InstanceOptions::from_env());
        vk::DeviceOptions device_options;
        device_options.apply_env();
        vk::Device device(instance, device_options);
        kernels::MatKernels mat(device);
        Timer timer(device);
        const double peak = fma_peak_gflops(device, timer, opt.seconds);
        fmt::print(stderr, "FMA peak {:.1f} GFLOP/s\n", peak);

        std::vector<Result> results;
        for (const std::string& name : opt.types) {
            const TensorType type = type_named(name);
            for (const Shape& s : kShapes) {
                if (!opt.shapes.empty() && std::string_view(s.name).find(opt.shapes) == std::string_view::npos)
                    continue;
                for (std::uint32_t t : opt.tokens) {
                    if (t == 0) fail("--tokens: 0 is not a batch");
                    // Both kernels where either may win (the product() threshold is the question).
                    std::vector<Kernel> kernels{Kernel::Product};
                    if (t <= 64) kernels.push_back(t <= mat.config().batch_tokens ? Kernel::Matmul : Kernel::Matvec);
                    for (Kernel k : kernels) {
                        results.push_back(measure(device, mat, timer, type, s, t, k, opt.seconds));
                        const Result& r = results.back();
                        fmt::print(stderr, "{:<26} {:<5} pp{:<4} {:<26} {:10.1f} t/s {:8.2f} GFLOP/s\n", r.shape,
                                   r.type, t, r.kernel, r.tokens_per_s(), r.gflops());
                    }
                }
            }
        }

        const std::string device_line =
            fmt::format("{} ({}, {}, {})", device.info().name, device.info().driver_name,
                        device.info().driver_info, vk::device_type_name(device.info().type));
        std::ostringstream md;
        md << fmt::format("Device: {}\n", device_line);
        md << fmt::format("Arithmetic peak: {:.1f} GFLOP/s (shaders/bench_fma.comp); matvec for batches up to {} "
                          "tokens; timer: {}\n\n",
                          peak, mat.config().batch_tokens, timer.gpu() ? "GPU timestamps" : "host wall time");
        md << "| shape | type | tokens | kernel | ms / product | prompt t/s | GFLOP/s | of peak |\n";
        md << "|---|---|---:|---|---:|---:|---:|---:|\n";
        nlohmann::json rows = nlohmann::json::array();
        for (const Result& r : results) {
            md << fmt::format("| {} | {} | {} | {} | {:.2f} | {:.1f} | {:.2f} | {:.1f}% |\n", r.shape, r.type,
                              r.tokens, r.kernel, r.seconds * 1e3, r.tokens_per_s(), r.gflops(),
                              100.0 * r.gflops() / peak);
            rows.push_back({{"shape", r.shape},
                            {"type", r.type},
                            {"tokens", r.tokens},
                            {"kernel", r.kernel},
                            {"seconds_per_product", r.seconds},
                            {"tokens_per_s", r.tokens_per_s()},
                            {"gflops", r.gflops()}});
        }
        const nlohmann::json json = {{"benchmark", "matmul"},
                                     {"device", device_line},
                                     {"peak_gflops", peak},
                                     {"batch_tokens", mat.config().batch_tokens},
                                     {"timer", timer.gpu() ? "gpu_timestamps" : "host_wall_time"},
                                     {"results", rows}};
        fmt::print("{}", md.str());
        write_results(opt.out, "matmul", device.info().name, md.str(), json);
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_matmul: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
