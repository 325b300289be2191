#pragma once
// Helpers of the matvec / matmul kernel tests: random weights quantized with
// quant::quantize_row (the CPU oracle and the GPU read the same bytes), device buffers,
// and one-dispatch runs read back to the host.
#include "cpu/reference_matmul.h"
#include "gguf/types.h"
#include "kernels/matvec.h"
#include "quant/quant.h"
#include "vk/barrier.h"
#include "vk/buffer.h"
#include "vk/command.h"
#include "vk/transfer.h"

#include <fmt/core.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <vector>

namespace ferry::test {

using gguf::TensorType;

inline constexpr TensorType kMatTypes[] = {
    TensorType::F32,  TensorType::F16,    TensorType::BF16,   TensorType::Q4_0,
    TensorType::Q4_1, TensorType::Q5_0,   TensorType::Q5_1,   TensorType::Q8_0,
    TensorType::Q2_K, TensorType::Q3_K,   TensorType::Q4_K,   TensorType::Q5_K,
    TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS, TensorType::MXFP4};

inline std::vector<float> gaussian(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// sum (want - got)^2 / sum want^2, in double.
inline double nmse(std::span<const float> want, std::span<const float> got) {
    double num = 0.0, den = 0.0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const double d = static_cast<double>(want[i]) - got[i];
        num += d * d;
        den += static_cast<double>(want[i]) * want[i];
    }
    return den > 0.0 ? num / den : num;
}

// Bound on the normalised MSE between the decode matvec and cpu::reference_matvec: both
// read the same quantized bytes, so only the order of the float sums differs (the kernel
// splits a row over invocations and a subgroup / tree reduction). Largest value measured
// on lavapipe over these tests' shapes (the worst are 1-row cases, where one dot product
// with cancellation is the whole mean), times about 10.
inline double matvec_nmse_bound(TensorType type) {
    switch (type) {
        case TensorType::Q4_1:
            return 5e-9;  // measured 5.0e-10: one row of 96, its min summed apart from the codes
        case TensorType::Q2_K:
            return 2e-9;  // measured 1.5e-10 (3.7e-10 with the unrolled unit)
        case TensorType::Q8_0:
        case TensorType::Q5_K:
            return 5e-10;  // 4.1e-11, 2.0e-11
        case TensorType::Q4_K:
        case TensorType::Q6_K:
        case TensorType::IQ4_XS:
            return 2e-11;  // 1.4e-12 .. 1.7e-12
        default:
            return 6e-12;  // <= 5.5e-13
    }
}

// The prefill matmul sums each output in column order, like cpu::reference_matmul: on
// lavapipe every case of these tests is bit-exact (NMSE 0). The bound leaves room only for
// devices that fuse multiply-adds differently (about 1e-7 relative per output).
inline constexpr double kMatmulNmseBound = 1e-12;

// With FERRY_PRINT_NMSE set, prints each measured error (to re-measure the bounds on a
// new device); the check itself stays in the test.
inline void report_nmse(const char* kernel, TensorType type, std::uint32_t rows, std::uint32_t cols,
                        double err) {
    if (std::getenv("FERRY_PRINT_NMSE"))
        fmt::print("NMSE {} {} rows={} cols={} {:.3g}\n", kernel, gguf::type_name(type), rows, cols, err);
}

inline std::uint32_t row_bytes(TensorType type, std::uint32_t cols) {
    return static_cast<std::uint32_t>(gguf::row_bytes(gguf::type_traits(type), cols));
}

// rows x cols weights N(0, 1) quantized row by row; rows `stride` bytes apart (0: packed).
struct HostMatrix {
    TensorType type;
    std::uint32_t rows, cols, stride;
    std::vector<std::uint8_t> bytes;

    cpu::QuantMatrix view(std::size_t offset = 0) const {
        return {type, bytes.data() + offset, rows, cols, stride};
    }
};

inline HostMatrix random_matrix(TensorType type, std::uint32_t rows, std::uint32_t cols, std::uint32_t seed,
                                std::uint32_t stride = 0) {
    const std::uint32_t packed = row_bytes(type, cols);
    HostMatrix m{type, rows, cols, stride ? stride : packed, {}};
    m.bytes.assign(std::size_t{m.stride} * rows, 0xA5);
    const auto w = gaussian(std::size_t{rows} * cols, seed);
    for (std::uint32_t r = 0; r < rows; ++r)
        quant::quantize_row(type, w.data() + std::size_t{r} * cols,
                            m.bytes.data() + std::size_t{r} * m.stride, cols);
    return m;
}

// A device-local buffer holding `bytes` at `offset` (size rounded up to whole words).
inline vk::Buffer device_bytes(vk::Device& device, std::span<const std::uint8_t> bytes, const char* name,
                               std::uint64_t offset = 0) {
    const std::uint64_t size = (offset + bytes.size() + 3) / 4 * 4;
    vk::Buffer b(device, size, vk::MemoryKind::DeviceLocal, name);
    std::vector<std::uint8_t> padded(size, 0x5A);
    std::memcpy(padded.data() + offset, bytes.data(), bytes.size());
    vk::upload(device, b, std::span<const std::uint8_t>(padded));
    return b;
}

inline vk::Buffer device_floats(vk::Device& device, std::span<const float> v, const char* name) {
    return device_bytes(device, {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(float)},
                        name);
}

inline vk::Buffer device_words(vk::Device& device, std::span<const std::uint32_t> v, const char* name) {
    return device_bytes(device, {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4}, name);
}

// Records `record` (dispatches into cmd), then reads `out` back: floats of the whole buffer.
inline std::vector<float> run_and_read(vk::Device& device, const vk::Buffer& out,
                                       const std::function<void(vk::CommandBuffer&)>& record) {
    vk::Buffer readback(device, out.size(), vk::MemoryKind::Readback, "readback");
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    cmd.fill(out, 0x7FC00000u);  // NaN: an output the kernel skipped fails the comparison
    vk::transfer_to_compute(cmd);
    record(cmd);
    vk::compute_to_transfer(cmd);
    cmd.copy(out, readback);
    vk::transfer_to_host(cmd);
    cmd.submit();
    cmd.wait();
    readback.invalidate();
    const auto f = readback.as<const float>();
    return {f.begin(), f.end()};
}

}  // namespace ferry::test
