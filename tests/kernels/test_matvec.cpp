// Decode matvec (shaders/matvec.comp through kernels::MatKernels) against
// cpu::reference_matvec for every weight type, at awkward shapes: row counts that are
// odd and not multiples of the rows per workgroup, 1..several blocks of columns, a weight
// matrix at an offset with padded rows, and several workgroup shapes.
#include "matvec_test_util.h"
#include "support/vulkan_test_device.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using namespace ferry;
using test::TensorType;

namespace {

// Column counts for a type: 1 block, 3 blocks, and a longer row (8 blocks of 32-element
// types, 3 super-blocks of K-quants); plain types get tails that are not multiples of 4.
std::vector<std::uint32_t> cols_for(TensorType type) {
    const std::uint32_t be = gguf::type_traits(type).block_elements;
    if (be == 1) return {1, 7, 300};
    if (be == 32) return {32, 96, 256};
    return {256, 768};
}

// y = W x on the GPU for the matrix m placed at byte `offset` of its buffer.
std::vector<float> gpu_matvec(vk::Device& device, kernels::MatKernels& mat, const test::HostMatrix& m,
                              std::span<const float> x, std::uint32_t offset = 0) {
    const vk::Buffer w = test::device_bytes(device, m.bytes, "w", offset);
    const vk::Buffer dx = test::device_floats(device, x, "x");
    vk::Buffer dy(device, std::uint64_t{m.rows} * 4, vk::MemoryKind::DeviceLocal, "y");
    return test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
        mat.matvec(cmd,
                   {.buffer = &w,
                    .offset = offset,
                    .type = m.type,
                    .rows = m.rows,
                    .cols = m.cols,
                    .row_stride = m.stride},
                   {.buffer = &dx}, {.buffer = &dy});
    });
}

void check_against_reference(vk::Device& device, kernels::MatKernels& mat, TensorType type,
                             std::uint32_t rows, std::uint32_t cols, std::uint32_t seed,
                             std::uint32_t stride = 0, std::uint32_t offset = 0) {
    CAPTURE(gguf::type_name(type));
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(stride);
    CAPTURE(offset);
    const auto m = test::random_matrix(type, rows, cols, seed, stride);
    const auto x = test::gaussian(cols, seed + 1);
    std::vector<float> want(rows);
    cpu::reference_matvec(m.view(), x, want);
    const auto got = gpu_matvec(device, mat, m, x, offset);
    const double err = test::nmse(want, got);
    CAPTURE(err);
    test::report_nmse("matvec", type, rows, cols, err);
    CHECK(err <= test::matvec_nmse_bound(type));
}

}  // namespace

TEST_CASE("decode matvec matches cpu::reference_matvec for every type and awkward shapes") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    MESSAGE("matvec config: ", mat.config().workgroup_size, " invocations, ", mat.config().rows_per_workgroup,
            " rows, ", mat.config().subgroup_reduce ? "subgroup" : "shared-memory", " reduction");
    std::uint32_t seed = 1;
    for (TensorType type : test::kMatTypes)
        for (std::uint32_t rows : {1u, 5u, 67u})
            for (std::uint32_t cols : cols_for(type))
                check_against_reference(device, mat, type, rows, cols, seed++);
}

TEST_CASE("decode matvec reads a matrix at a byte offset with padded rows") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    std::uint32_t seed = 100;
    for (TensorType type : test::kMatTypes) {
        const std::uint32_t cols = cols_for(type).back();
        // Padding that keeps the rows' alignment rules (F32 and Q4_K rows start at
        // multiples of 4 bytes; the others at any even byte, Q8_0 / Q6_K at 2 mod 4 too).
        const std::uint32_t pad = (type == TensorType::F32 || type == TensorType::Q4_K) ? 12 : 6;
        check_against_reference(device, mat, type, 9, cols, seed++, test::row_bytes(type, cols) + pad, 20);
    }
}

TEST_CASE("decode matvec is right for other workgroup shapes and the shared-memory reduction") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const kernels::MatvecConfig configs[] = {{32, 1, true}, {128, 3, true}, {64, 2, false}, {256, 4, false}};
    std::uint32_t seed = 200;
    for (const auto& config : configs) {
        CAPTURE(config.workgroup_size);
        CAPTURE(config.rows_per_workgroup);
        CAPTURE(config.subgroup_reduce);
        if (config.subgroup_reduce && !kernels::has_subgroup_arithmetic(device)) continue;
        kernels::MatKernels mat(device, config);
        for (TensorType type :
             {TensorType::F16, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::IQ4_XS})
            check_against_reference(device, mat, type, 37, cols_for(type).back(), seed++);
    }
}

TEST_CASE("the shared-memory reduction is a different shader variant") {
    test::GpuTest gpu;
    if (!gpu) return;
    kernels::MatKernels sub(gpu.device(), {64, 2, true});
    kernels::MatKernels shared(gpu.device(), {64, 2, false});
    CHECK(sub.matvec_variant(TensorType::Q4_K, false) == "matvec_q4_k");
    CHECK(shared.matvec_variant(TensorType::Q4_K, false) == "matvec_q4_k_shared");
    CHECK(shared.matvec_variant(TensorType::Q6_K, true) == "matvec_expert_q6_k_shared");
    CHECK(sub.matmul_variant(TensorType::IQ4_NL, true) == "matmul_expert_iq4_nl");
}

TEST_CASE("matvec refuses bad shapes, offsets and buffers with a clear error") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    vk::Buffer w(device, 4096, vk::MemoryKind::DeviceLocal, "w");
    vk::Buffer x(device, 4096, vk::MemoryKind::DeviceLocal, "x");
    vk::Buffer y(device, 64, vk::MemoryKind::DeviceLocal, "y");
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    const kernels::DeviceMatrix q4{.buffer = &w, .type = TensorType::Q4_K, .rows = 4, .cols = 256};
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, {.buffer = &w, .type = TensorType::Q8_K, .rows = 1, .cols = 256},
                                    {.buffer = &x}, {.buffer = &y}),
                         doctest::Contains("Q8_K"), Error);
    auto bad_cols = q4;
    bad_cols.cols = 200;
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, bad_cols, {.buffer = &x}, {.buffer = &y}),
                         doctest::Contains("whole number"), Error);
    auto bad_offset = q4;
    bad_offset.offset = 2;
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, bad_offset, {.buffer = &x}, {.buffer = &y}),
                         doctest::Contains("multiple of 4"), Error);
    auto too_many_rows = q4;
    too_many_rows.rows = 40;  // 40 * 144 bytes > 4096
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, too_many_rows, {.buffer = &x}, {.buffer = &y}),
                         doctest::Contains("'w'"), Error);
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, q4, {.buffer = &x, .offset = 2}, {.buffer = &y}),
                         doctest::Contains("multiples of 4 floats"), Error);
    auto many_rows = q4;
    many_rows.rows = 20;  // y holds 16 floats
    CHECK_THROWS_WITH_AS(mat.matvec(cmd, many_rows, {.buffer = &x}, {.buffer = &y}), doctest::Contains("'y'"),
                         Error);
    cmd.submit();
    cmd.wait();
}

TEST_CASE("a matrix larger than one binding is split by rows into several dispatches") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatvecConfig config = kernels::default_matvec_config(device);
    config.max_binding_bytes = 4096;  // a few rows per binding
    kernels::MatKernels mat(device, config);
    std::uint32_t seed = 300;
    for (TensorType type : {TensorType::F32, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K}) {
        const std::uint32_t cols = type == TensorType::F32 ? 100 : 512;
        check_against_reference(device, mat, type, 41, cols, seed++, 0, 36);
    }
    // An expert pool is one binding: a bigger one is refused, naming it.
    vk::Buffer pool(device, 8192, vk::MemoryKind::DeviceLocal, "pool");
    vk::Buffer table(device, 16, vk::MemoryKind::DeviceLocal, "table");
    vk::Buffer x(device, 4096, vk::MemoryKind::DeviceLocal, "x");
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    CHECK_THROWS_WITH_AS(
        mat.expert_matvec(cmd, {.pool = &pool, .type = TensorType::Q8_0, .rows = 4, .cols = 64}, table, 4,
                          {.buffer = &x}, {.buffer = &x}),
        doctest::Contains("'pool'"), Error);
    cmd.submit();
    cmd.wait();
}

// Several tokens in one dispatch (a decode step of several sequences): each token's row
// equals what a one-token dispatch writes, bit for bit, at gapped x and y strides.
TEST_CASE("decode matvec over several tokens gives each token its one-token result exactly") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatKernels mat(device);
    std::uint32_t seed = 500;
    for (TensorType type : test::kMatTypes) {
        CAPTURE(gguf::type_name(type));
        const std::uint32_t rows = 37, cols = cols_for(type).back(), tokens = 3;
        const std::uint32_t xs = cols + 4, ys = rows + 3;
        const auto m = test::random_matrix(type, rows, cols, seed++);
        const auto x = test::gaussian(std::size_t{tokens} * xs, seed++);
        const vk::Buffer w = test::device_bytes(device, m.bytes, "w");
        const vk::Buffer dx = test::device_floats(device, x, "x");
        vk::Buffer dy(device, std::uint64_t{tokens} * ys * 4, vk::MemoryKind::DeviceLocal, "y");
        const kernels::DeviceMatrix dm{.buffer = &w, .type = type, .rows = rows, .cols = cols};
        const auto together = test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
            mat.matvec(cmd, dm, {.buffer = &dx, .token_stride = xs}, {.buffer = &dy, .token_stride = ys}, tokens);
        });
        for (std::uint32_t t = 0; t < tokens; ++t) {
            CAPTURE(t);
            const auto alone = test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
                mat.matvec(cmd, dm, {.buffer = &dx, .offset = t * xs}, {.buffer = &dy});
            });
            CHECK(std::equal(alone.begin(), alone.begin() + rows, together.begin() + std::size_t{t} * ys));
            std::vector<float> want(rows);
            cpu::reference_matvec(m.view(), std::span(x).subspan(std::size_t{t} * xs, cols), want);
            CHECK(test::nmse(want, std::span(together).subspan(std::size_t{t} * ys, rows)) <=
                  test::matvec_nmse_bound(type));
        }
    }
}

TEST_CASE("product() takes matvec for short batches and the tiled matmul for long ones, with the same results") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::MatvecConfig config = kernels::default_matvec_config(device);
    config.batch_tokens = 4;
    kernels::MatKernels mat(device, config);
    const std::uint32_t rows = 70, cols = 256;
    const auto m = test::random_matrix(TensorType::Q4_K, rows, cols, 7);
    const vk::Buffer w = test::device_bytes(device, m.bytes, "w");
    for (std::uint32_t tokens : {2u, 4u, 5u, 40u}) {
        CAPTURE(tokens);
        const auto x = test::gaussian(std::size_t{tokens} * cols, tokens);
        std::vector<float> want(std::size_t{tokens} * rows);
        cpu::reference_matmul(m.view(), x, tokens, want);
        const vk::Buffer dx = test::device_floats(device, x, "x");
        vk::Buffer dy(device, want.size() * 4, vk::MemoryKind::DeviceLocal, "y");
        const auto got = test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
            mat.product(cmd, {.buffer = &w, .type = TensorType::Q4_K, .rows = rows, .cols = cols}, {.buffer = &dx},
                        {.buffer = &dy}, tokens);
        });
        CHECK(test::nmse(want, got) <= test::matvec_nmse_bound(TensorType::Q4_K));
    }
}
