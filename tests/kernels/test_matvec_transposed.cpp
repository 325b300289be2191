// Transposed matvec (shaders/matvec_transposed.comp: Y[t, c] = sum_r W[r, c] X[t, r], MLA's
// absorbed query) against cpu::reference_matvec_transposed for every weight type: several
// tokens with gaps between their rows, a matrix at a byte offset with padded rows (one
// head's rows of a larger tensor), and the errors for shapes that do not fit.
#include "base/error.h"
#include "matvec_test_util.h"
#include "support/vulkan_test_device.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using namespace ferry;
using test::TensorType;

namespace {

void check_transposed(vk::Device& device, kernels::MatKernels& mat, TensorType type, std::uint32_t rows,
                      std::uint32_t cols, std::uint32_t tokens, std::uint32_t seed) {
    CAPTURE(gguf::type_name(type));
    CAPTURE(rows);
    CAPTURE(cols);
    // The product reads rows [first, first + rows) of a larger matrix with padded rows.
    const std::uint32_t first = 4, pad = (type == TensorType::F32 || type == TensorType::Q4_K) ? 8 : 6;
    const std::uint32_t stride = test::row_bytes(type, cols) + pad;
    const auto m = test::random_matrix(type, first + rows + 2, cols, seed, stride);
    const std::uint32_t xs = rows + 4, ys = cols + 8;  // gaps between token rows
    const auto packed_x = test::gaussian(std::size_t{tokens} * rows, seed + 1);
    std::vector<float> x(std::size_t{tokens} * xs, 1e30f);  // gaps must not be read
    std::vector<float> want(std::size_t{tokens} * cols);
    const cpu::QuantMatrix view{type, m.bytes.data() + std::size_t{first} * stride, rows, cols, stride};
    for (std::uint32_t t = 0; t < tokens; ++t) {
        const std::span<const float> xt(packed_x.data() + std::size_t{t} * rows, rows);
        std::copy(xt.begin(), xt.end(), x.begin() + std::size_t{t} * xs);
        cpu::reference_matvec_transposed(view, xt, std::span(want).subspan(std::size_t{t} * cols, cols));
    }
    const vk::Buffer w = test::device_bytes(device, m.bytes, "w");
    const vk::Buffer dx = test::device_floats(device, x, "x");
    vk::Buffer dy(device, std::uint64_t{tokens} * ys * 4, vk::MemoryKind::DeviceLocal, "y");
    const auto out = test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
        mat.matvec_transposed(cmd,
                              {.buffer = &w,
                               .offset = std::uint64_t{first} * stride,
                               .type = type,
                               .rows = rows,
                               .cols = cols,
                               .row_stride = stride},
                              {.buffer = &dx, .token_stride = xs}, {.buffer = &dy, .token_stride = ys}, tokens);
    });
    std::vector<float> got(want.size());
    for (std::uint32_t t = 0; t < tokens; ++t)
        std::copy_n(out.begin() + std::size_t{t} * ys, cols, got.begin() + std::size_t{t} * cols);
    const double err = test::nmse(want, got);
    test::report_nmse("matvec_transposed", type, rows, cols, err);
    CAPTURE(err);
    CHECK(err <= test::kMatmulNmseBound);  // both sum in row order
}

}  // namespace

TEST_CASE("transposed matvec matches cpu::reference_matvec_transposed for every type") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    std::uint32_t seed = 300;
    for (TensorType type : test::kMatTypes) {
        const std::uint32_t be = gguf::type_traits(type).block_elements;
        const std::uint32_t cols = be == 1 ? 72 : be == 32 ? 128 : 512;  // more than one workgroup of outputs
        check_transposed(device, mat, type, 16, cols, 3, seed++);
        check_transposed(device, mat, type, 5, cols, 1, seed++);
    }
}

TEST_CASE("transposed matvec refuses inputs and outputs that do not fit") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    const auto m = test::random_matrix(TensorType::F16, 8, 64, 1);
    const vk::Buffer w = test::device_bytes(device, m.bytes, "w");
    vk::Buffer small(device, 16 * 4, vk::MemoryKind::DeviceLocal, "small");
    vk::Buffer big(device, 256 * 4, vk::MemoryKind::DeviceLocal, "big");
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    const kernels::DeviceMatrix wm{.buffer = &w, .type = TensorType::F16, .rows = 8, .cols = 64};
    CHECK_THROWS_WITH_AS(mat.matvec_transposed(cmd, wm, {.buffer = &big}, {.buffer = &small}, 1),
                         doctest::Contains("y needs 64 floats"), Error);
    CHECK_THROWS_WITH_AS(mat.matvec_transposed(cmd, wm, {.buffer = &big}, {.buffer = &big}, 0),
                         doctest::Contains("no tokens"), Error);
    CHECK_THROWS_WITH_AS(mat.matvec_transposed(cmd, {.buffer = &w, .type = TensorType::F16, .rows = 9, .cols = 64},
                                               {.buffer = &big}, {.buffer = &big}, 1),
                         doctest::Contains("weights end at byte"), Error);
    cmd.submit();
    cmd.wait();
}
