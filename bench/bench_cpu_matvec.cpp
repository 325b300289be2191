// CPU expert kernels: GB/s of weight bytes read by cpu::ExpertMatmul on Qwen3-30B-A3B
// expert shapes, per weight type, kernel path, token count and thread count, next to the
// machine's read bandwidth measured here with the same thread counts. Weights rotate over
// copies filling several times the last-level cache, so every product streams from DRAM,
// as a missing expert does. Markdown on stdout; JSON with --out.
//
//   bench_cpu_matvec [--threads N] [--seconds S] [--types Q4_K,Q6_K] [--paths avx2,avx512_vnni]
//                    [--tokens 1,8] [--working-set MiB] [--out results.json]
//
// --working-set 1 keeps the weights in L2 (2 copies of one matrix): the kernels' compute
// throughput without DRAM, to tell a compute bound from a memory bound.
#include <fmt/format.h>

#include <time.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/fast_matmul.h"
#include "quant/quant.h"

using namespace ferry;
using namespace ferry::cpu;
using gguf::TensorType;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    int max_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    double seconds = 0.25;  // per measurement
    std::string out;
    std::string types, paths;                          // comma-separated filters; empty = all
    std::size_t working_set = std::size_t{256} << 20;  // bytes the rotating weight copies span
    std::vector<std::int64_t> tokens = {1, 8};         // batch sizes measured (1..64)
};

bool listed(const std::string& filter, std::string_view name) {
    if (filter.empty()) return true;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = filter.find(',', start);
        const std::size_t end = comma == std::string::npos ? filter.size() : comma;
        if (std::string_view(filter).substr(start, end - start) == name) return true;
        if (comma == std::string::npos) return false;
        start = comma + 1;
    }
}

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

// Read bandwidth: every thread sums its slice of a buffer far larger than the LLC, asking
// for the data 2 KiB ahead as the kernels do (fast_block_helpers.h); without that one core
// reaches about 20% less on the Cascade Lake dev VM, and kernels would beat the "bound".
double read_bandwidth(ThreadPool& pool, const std::vector<std::uint64_t>& buf, double seconds) {
    const std::int64_t tasks = 64;
    const std::size_t per = buf.size() / static_cast<std::size_t>(tasks);
    std::vector<std::uint64_t> sums(static_cast<std::size_t>(tasks));
    auto pass = [&] {
        pool.run(tasks, [&](std::int64_t t, int) {
            const std::uint64_t* p = buf.data() + static_cast<std::size_t>(t) * per;
            std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (std::size_t i = 0; i < per; i += 4) {
                if (i % 8 == 0) __builtin_prefetch(p + i + 256);
                s0 += p[i];
                s1 += p[i + 1];
                s2 += p[i + 2];
                s3 += p[i + 3];
            }
            sums[static_cast<std::size_t>(t)] = s0 + s1 + s2 + s3;
        });
    };
    pass();
    double best = 0.0;
    const auto start = Clock::now();
    do {
        const auto t0 = Clock::now();
        pass();
        best =
            std::max(best, static_cast<double>(per * static_cast<std::size_t>(tasks) * 8) / since(t0) / 1e9);
    } while (since(start) < seconds * 2);
    volatile std::uint64_t sink = sums[0];
    (void)sink;
    return best;
}

// A [rows, cols] matrix of `type` repeated over working_set bytes (default 256 MiB: several
// times any LLC of the dev machines). Content does not change
// the speed, so 64 quantized rows are tiled (the reference quantizers are slow).
struct Weights {
    std::vector<std::uint8_t> bytes;
    std::uint64_t matrix_bytes = 0;
    std::size_t copies = 0;
    QuantMatrix at(TensorType type, std::int64_t rows, std::int64_t cols, std::size_t copy) const {
        return {type, bytes.data() + copy * matrix_bytes, rows, cols, 0};
    }
};

Weights make_weights(TensorType type, std::int64_t rows, std::int64_t cols, std::size_t working_set) {
    const std::uint64_t row_bytes =
        gguf::row_bytes(gguf::type_traits(type), static_cast<std::uint64_t>(cols));
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const std::int64_t band = std::min<std::int64_t>(64, rows);
    std::vector<float> src(static_cast<std::size_t>(band * cols));
    for (float& v : src) v = dist(rng);
    std::vector<std::uint8_t> tile(row_bytes * static_cast<std::uint64_t>(band));
    for (std::int64_t r = 0; r < band; ++r)
        quant::quantize_row(type, src.data() + r * cols, tile.data() + r * row_bytes, cols);
    Weights w;
    w.matrix_bytes = row_bytes * static_cast<std::uint64_t>(rows);
    w.copies = std::max<std::size_t>(2, working_set / w.matrix_bytes);
    w.bytes.resize(w.matrix_bytes * w.copies);
    for (std::size_t off = 0; off < w.bytes.size(); off += tile.size())
        std::memcpy(w.bytes.data() + off, tile.data(), std::min(tile.size(), w.bytes.size() - off));
    return w;
}

struct Result {
    std::string what, type, path;
    std::int64_t rows, cols, tokens;
    int threads;
    double us, gbps, bw;
    double cpu_us;  // 1 thread only (else 0): the caller's CPU time per call
};

// CPU time of the calling thread: with 1 thread the pool runs every task on the caller, so
// this leaves out the time the OS gave the core to other processes (a shared machine).
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
    double us;      // wall time per call, fastest round
    double cpu_us;  // calling thread's CPU time per call, fastest round
};

// Runs `one(copy)` over rotating copies for about `seconds` in 5 rounds; returns the
// microseconds per call of the fastest round (the machine is shared: the best round is the
// closest to an idle machine, and the rounds show the spread).
template <class F>
Timing time_calls(std::size_t copies, double seconds, F&& one) {
    for (std::size_t c = 0; c < std::min<std::size_t>(copies, 4); ++c) one(c);  // warm code and pages
    std::size_t copy = 0;
    Timing best{1e300, 1e300};
    for (int round = 0; round < 5; ++round) {
        std::size_t calls = 0;
        const auto t0 = Clock::now();
        const double c0 = thread_cpu_seconds();
        do {
            for (int k = 0; k < 4; ++k, ++calls) {
                one(copy);
                copy = copy + 1 == copies ? 0 : copy + 1;
            }
        } while (since(t0) < seconds / 5);
        const double n = static_cast<double>(calls);
        best.cpu_us = std::min(best.cpu_us, (thread_cpu_seconds() - c0) / n * 1e6);
        best.us = std::min(best.us, since(t0) / n * 1e6);
    }
    return best;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                fmt::print(stderr, "bench_cpu_matvec: {} needs a value\n", a);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--threads")
            o.max_threads = std::max(1, std::atoi(value().c_str()));
        else if (a == "--seconds")
            o.seconds = std::max(0.01, std::atof(value().c_str()));
        else if (a == "--working-set")
            o.working_set = static_cast<std::size_t>(std::max(1, std::atoi(value().c_str()))) << 20;
        else if (a == "--out")
            o.out = value();
        else if (a == "--types")
            o.types = value();
        else if (a == "--paths")
            o.paths = value();
        else if (a == "--tokens") {
            o.tokens.clear();
            const std::string list = value();
            for (std::size_t start = 0; start <= list.size();) {
                const std::size_t comma = std::min(list.find(',', start), list.size());
                o.tokens.push_back(std::clamp<std::int64_t>(std::atoll(list.c_str() + start), 1, 64));
                start = comma + 1;
            }
        } else {
            fmt::print(stderr,
                       "usage: bench_cpu_matvec [--threads N] [--seconds S] [--types Q4_K,..] [--paths "
                       "avx2,..] [--tokens 1,8] [--working-set MiB] [--out results.json]\n");
            std::exit(a == "--help" ? 0 : 2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    std::vector<CpuPath> paths;
    for (CpuPath p : supported_paths())
        if (listed(opt.paths, path_name(p))) paths.push_back(p);
    std::vector<int> thread_counts;
    for (int t = 1; t <= opt.max_threads; ++t) thread_counts.push_back(t);

    fmt::print("# CPU expert kernels\n\nCPU: {}; paths: ", cpu_model());
    for (CpuPath p : paths) fmt::print("{} ", path_name(p));
    fmt::print(
        "\nWorking set {} MiB per weight type (rotated copies), {:.2f} s per figure, best of 5 rounds.\n\n",
        opt.working_set >> 20, opt.seconds);

    std::vector<double> bandwidth(thread_counts.size());
    {
        std::vector<std::uint64_t> buf(opt.working_set / 8);
        for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = i;
        fmt::print("## Memory read bandwidth\n\n| threads | GB/s |\n|---:|---:|\n");
        for (std::size_t i = 0; i < thread_counts.size(); ++i) {
            ThreadPool pool(thread_counts[i]);
            bandwidth[i] = read_bandwidth(pool, buf, opt.seconds);
            fmt::print("| {} | {:.1f} |\n", thread_counts[i], bandwidth[i]);
        }
    }

    std::vector<Result> results;
    struct Shape {
        const char* name;
        std::int64_t rows, cols;
    };
    const Shape shapes[] = {{"gate/up", 768, 2048}, {"down", 2048, 768}};
    const TensorType types[] = {TensorType::Q4_K,  TensorType::Q5_K, TensorType::Q6_K,
                                TensorType::Q8_0,  TensorType::Q4_0, TensorType::IQ4_XS,
                                TensorType::MXFP4, TensorType::F16,  TensorType::BF16};
    fmt::print("\n## Matrix products (W [rows, cols] x tokens), GB/s of weights and % of read bandwidth\n\n");
    fmt::print(
        "| type | shape | path | tokens | threads | us | cpu us | GB/s | % of bw "
        "|\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (TensorType type : types)
        for (const Shape& s : shapes) {
            if (!listed(opt.types, gguf::type_name(type))) continue;
            const Weights w = make_weights(type, s.rows, s.cols, opt.working_set);
            for (CpuPath path : paths)
                for (std::int64_t tokens : opt.tokens)
                    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
                        ThreadPool pool(thread_counts[ti]);
                        ExpertMatmul mm(pool, path);
                        std::vector<float> x(static_cast<std::size_t>(tokens * s.cols), 0.5f),
                            y(static_cast<std::size_t>(tokens * s.rows));
                        const Timing tm = time_calls(w.copies, opt.seconds, [&](std::size_t c) {
                            mm.matmul(w.at(type, s.rows, s.cols, c), x, tokens, y);
                        });
                        const double us = tm.us, cpu_us = thread_counts[ti] == 1 ? tm.cpu_us : 0.0;
                        const double gbps = static_cast<double>(w.matrix_bytes) / us / 1e3;
                        results.push_back({s.name, std::string(gguf::type_name(type)),
                                           std::string(path_name(path)), s.rows, s.cols, tokens,
                                           thread_counts[ti], us, gbps, bandwidth[ti], cpu_us});
                        fmt::print("| {} | {} {}x{} | {} | {} | {} | {:.0f} | {} | {:.1f} | {:.0f}% |\n",
                                   gguf::type_name(type), s.name, s.rows, s.cols, path_name(path), tokens,
                                   thread_counts[ti], us, cpu_us > 0 ? fmt::format("{:.0f}", cpu_us) : "-",
                                   gbps, 100.0 * gbps / bandwidth[ti]);
                        std::fflush(stdout);
                    }
        }

    // One whole expert as the offload engine pays for a miss: Q4_K gate/up + Q6_K down
    // (Qwen3-30B-A3B Q4_K_M), and MXFP4 throughout (gpt-oss style).
    fmt::print("\n## SwiGLU expert FFN (n_embd 2048, n_ff 768)\n\n");
    fmt::print(
        "| mix | path | tokens | threads | us/expert | GB/s | % of bw "
        "|\n|---|---|---:|---:|---:|---:|---:|\n");
    struct Mix {
        TensorType gate_up, down;
    };
    for (const Mix mix :
         {Mix{TensorType::Q4_K, TensorType::Q6_K}, Mix{TensorType::MXFP4, TensorType::MXFP4}}) {
        if (!listed(opt.types, gguf::type_name(mix.gate_up))) continue;
        const Weights gate = make_weights(mix.gate_up, 768, 2048, opt.working_set),
                      up = make_weights(mix.gate_up, 768, 2048, opt.working_set);
        const Weights down = make_weights(mix.down, 2048, 768, opt.working_set);
        const std::size_t copies = std::min({gate.copies, up.copies, down.copies});
        const double expert_bytes =
            static_cast<double>(gate.matrix_bytes + up.matrix_bytes + down.matrix_bytes);
        const std::string name =
            fmt::format("{}+{}", gguf::type_name(mix.gate_up), gguf::type_name(mix.down));
        for (CpuPath path : paths)
            for (std::int64_t tokens : opt.tokens)
                for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
                    ThreadPool pool(thread_counts[ti]);
                    ExpertMatmul mm(pool, path);
                    std::vector<float> x(static_cast<std::size_t>(tokens * 2048), 0.5f), y(x.size());
                    const Timing tm = time_calls(copies, opt.seconds, [&](std::size_t c) {
                        mm.expert_ffn(gate.at(mix.gate_up, 768, 2048, c), up.at(mix.gate_up, 768, 2048, c),
                                      down.at(mix.down, 2048, 768, c), x, tokens, y);
                    });
                    const double us = tm.us;
                    const double gbps = expert_bytes / us / 1e3;
                    results.push_back({"expert_ffn " + name, name, std::string(path_name(path)), 2048, 768,
                                       tokens, thread_counts[ti], us, gbps, bandwidth[ti],
                                       thread_counts[ti] == 1 ? tm.cpu_us : 0.0});
                    fmt::print("| {} ({:.2f} MB) | {} | {} | {} | {:.0f} | {:.1f} | {:.0f}% |\n", name,
                               expert_bytes / 1e6, path_name(path), tokens, thread_counts[ti], us, gbps,
                               100.0 * gbps / bandwidth[ti]);
                    std::fflush(stdout);
                }
    }

    if (!opt.out.empty()) {
        nlohmann::json j;
        j["cpu"] = cpu_model();
        j["seconds_per_figure"] = opt.seconds;
        j["working_set_bytes"] = opt.working_set;
        for (std::size_t i = 0; i < thread_counts.size(); ++i)
            j["read_bandwidth_gbps"].push_back({{"threads", thread_counts[i]}, {"gbps", bandwidth[i]}});
        for (const Result& r : results)
            j["results"].push_back({{"what", r.what},
                                    {"type", r.type},
                                    {"path", r.path},
                                    {"rows", r.rows},
                                    {"cols", r.cols},
                                    {"tokens", r.tokens},
                                    {"threads", r.threads},
                                    {"us", r.us},
                                    {"cpu_us", r.cpu_us},
                                    {"gbps", r.gbps},
                                    {"fraction_of_bandwidth", r.gbps / r.bw}});
        std::ofstream(opt.out) << j.dump(2) << "\n";
        fmt::print("\nJSON written to {}\n", opt.out);
    }
    return 0;
}
