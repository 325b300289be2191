#pragma once
// What the GPU benchmarks share: wall time, the host's memcpy bandwidth (the bound on a CPU
// Vulkan driver), random quantized matrices, uploads in pieces, GPU timestamps around a
// batch of dispatches, and file-name slugs.
#include "gguf/types.h"
#include "quant/quant.h"
#include "vk/barrier.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/transfer.h"
#include "vk/vulkan.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ferry::bench {

using Clock = std::chrono::steady_clock;
using gguf::TensorType;

inline double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Host memory bandwidth: every core memcpys its slice of 256 MiB; read + written bytes.
inline double memcpy_bandwidth_gbs() {
    const std::size_t bytes = std::size_t{256} << 20;
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<char> src(bytes, 1), dst(bytes, 0);
    double best = 0.0;
    for (int pass = 0; pass < 6; ++pass) {
        const auto t0 = Clock::now();
        std::vector<std::thread> pool;
        const std::size_t per = bytes / threads;
        for (unsigned t = 0; t < threads; ++t)
            pool.emplace_back([&, t] { std::memcpy(dst.data() + t * per, src.data() + t * per, per); });
        for (auto& th : pool) th.join();
        best = std::max(best, 2.0 * static_cast<double>(bytes) / since(t0) / 1e9);
    }
    return best;
}

// One matrix of `type`: 64 distinct quantized random rows, repeated to `rows`.
inline std::vector<std::uint8_t> make_matrix(TensorType type, std::uint32_t rows, std::uint32_t cols) {
    const std::uint64_t rb = gguf::row_bytes(gguf::type_traits(type), cols);
    constexpr std::uint32_t distinct = 64;
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> row(cols);
    std::vector<std::uint8_t> seed_rows(rb * distinct);
    for (std::uint32_t r = 0; r < distinct; ++r) {
        for (float& v : row) v = dist(rng);
        quant::quantize_row(type, row.data(), seed_rows.data() + r * rb, cols);
    }
    std::vector<std::uint8_t> m(rb * rows);
    for (std::uint32_t r = 0; r < rows; ++r)
        std::memcpy(m.data() + r * rb, seed_rows.data() + (r % distinct) * rb, rb);
    return m;
}

// Uploads `data` at each offset in 32 MiB pieces (the staging copy stays small).
inline void upload_at(vk::Device& device, const vk::Buffer& dst, const std::vector<std::uint8_t>& data,
               std::uint64_t offset) {
    constexpr std::size_t piece = std::size_t{32} << 20;
    for (std::size_t done = 0; done < data.size(); done += piece) {
        const std::size_t n = std::min(piece, data.size() - done);
        vk::upload(device, dst, std::span<const std::uint8_t>(data.data() + done, n), offset + done);
    }
}

// Timestamps around a batch of dispatches, where the compute queue has them.
class Timer {
public:
    explicit Timer(vk::Device& device) : device_(device) {
        std::uint32_t n = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(device.physical(), &n, nullptr);
        std::vector<VkQueueFamilyProperties> families(n);
        vkGetPhysicalDeviceQueueFamilyProperties(device.physical(), &n, families.data());
        VkPhysicalDeviceProperties props{};
        vkGetPhysicalDeviceProperties(device.physical(), &props);
        const std::uint32_t family = device.compute_queue().family();
        if (family >= n || families[family].timestampValidBits == 0 || props.limits.timestampPeriod <= 0.0f)
            return;
        period_ns_ = props.limits.timestampPeriod;
        VkQueryPoolCreateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
        info.queryType = VK_QUERY_TYPE_TIMESTAMP;
        info.queryCount = 2;
        vk::check(vkCreateQueryPool(device.handle(), &info, nullptr, &pool_), "vkCreateQueryPool");
    }
    ~Timer() {
        if (pool_) vkDestroyQueryPool(device_.handle(), pool_, nullptr);
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    bool gpu() const { return pool_ != VK_NULL_HANDLE; }
    void start(vk::CommandBuffer& cmd) {
        if (!pool_) return;
        vkCmdResetQueryPool(cmd.handle(), pool_, 0, 2);
        vkCmdWriteTimestamp(cmd.handle(), VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool_, 0);
    }
    void stop(vk::CommandBuffer& cmd) {
        if (pool_) vkCmdWriteTimestamp(cmd.handle(), VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 1);
    }
    // Seconds between start and stop of the finished submission.
    double seconds() const {
        std::uint64_t t[2] = {};
        vk::check(vkGetQueryPoolResults(device_.handle(), pool_, 0, 2, sizeof(t), t, sizeof(t[0]),
                                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                  "vkGetQueryPoolResults");
        return static_cast<double>(t[1] - t[0]) * period_ns_ * 1e-9;
    }

private:
    vk::Device& device_;
    VkQueryPool pool_ = VK_NULL_HANDLE;
    float period_ns_ = 0.0f;
};

inline std::string slug(std::string_view name) {
    std::string s;
    for (char c : name) {
        const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (std::isalnum(static_cast<unsigned char>(l)))
            s += l;
        else if (!s.empty() && s.back() != '-')
            s += '-';
    }
    while (!s.empty() && s.back() == '-') s.pop_back();
    return s;
}


// Records batches of `batch` dispatches (record(cmd, i) for i < batch, a compute-to-compute
// barrier between them) until `seconds` have passed, after one warm-up batch (pipeline
// creation, first touch); returns the seconds per dispatch, GPU-timed where the queue can.
template <class Record>
double time_dispatches(vk::Device& device, Timer& timer, std::uint32_t batch, double seconds, Record&& record,
                       std::uint64_t* dispatches = nullptr) {
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    auto run_batch = [&]() {
        cmd.begin();
        timer.start(cmd);
        for (std::uint32_t i = 0; i < batch; ++i) {
            if (i) vk::compute_to_compute(cmd);
            record(cmd, i);
        }
        timer.stop(cmd);
        const auto t0 = Clock::now();
        cmd.submit();
        cmd.wait();
        return timer.gpu() ? timer.seconds() : since(t0);
    };
    run_batch();
    double total = 0.0;
    std::uint64_t count = 0;
    const auto start = Clock::now();
    do {
        total += run_batch();
        count += batch;
    } while (since(start) < seconds || count < 2 * batch);
    if (dispatches) *dispatches = count;
    return total / static_cast<double>(count);
}

#ifdef FERRY_BENCH_RESULTS_DIR
// Writes STEM.md and STEM.json: STEM is `out`, else bench/results/<kind>-<device slug>.
inline void write_results(const std::string& out, const std::string& kind, const std::string& device_name,
                          const std::string& md, const nlohmann::json& json) {
    const std::filesystem::path stem =
        out.empty() ? std::filesystem::path(FERRY_BENCH_RESULTS_DIR) / (kind + "-" + slug(device_name))
                    : std::filesystem::path(out);
    if (stem.has_parent_path()) std::filesystem::create_directories(stem.parent_path());
    std::ofstream(stem.string() + ".md") << md;
    std::ofstream(stem.string() + ".json") << json.dump(2) << "\n";
    fmt::print(stderr, "wrote {}.md and {}.json\n", stem.string(), stem.string());
}
#endif

}  // namespace ferry::bench
