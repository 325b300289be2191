// The matvec / matmul shaders on devices without the optional features: none of their
// variants declares fp16 / int8 / int16 arithmetic or 8/16-bit storage, the shared-memory
// variants need no subgroup operations, and on a device made with those features
// disabled (vk::DeviceOptions, as FERRY_DISABLE does) every kernel still runs, passes the
// validation layer and matches the CPU reference.
#include "matvec_test_util.h"
#include "shaders/embedded_spirv.h"
#include "support/vulkan_test_device.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace ferry;
using test::TensorType;

namespace {

// Capability operands of every OpCapability in a SPIR-V module.
std::set<std::uint32_t> capabilities(const shaders::Spirv& spirv) {
    constexpr std::uint32_t kOpCapability = 17;
    std::set<std::uint32_t> caps;
    for (std::size_t i = 5; i < spirv.word_count;) {
        const std::uint32_t op = spirv.words[i] & 0xffffu, len = spirv.words[i] >> 16;
        REQUIRE(len > 0);
        if (op == kOpCapability) caps.insert(spirv.words[i + 1]);
        i += len;
    }
    return caps;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

TEST_CASE("matvec and matmul variants need no optional arithmetic or small-storage capability") {
    // SPIR-V capability numbers (SPIR-V spec, Capability enum).
    const std::set<std::uint32_t> optional = {
        9,     // Float16
        10,    // Float64
        11,    // Int64
        22,    // Int16
        39,    // Int8
        4433,  // StorageBuffer16BitAccess
        4434,  // UniformAndStorageBuffer16BitAccess
        4448,  // StorageBuffer8BitAccess
        4449,  // UniformAndStorageBuffer8BitAccess
    };
    const std::set<std::uint32_t> subgroup = {61, 63};  // GroupNonUniform, GroupNonUniformArithmetic
    int checked = 0;
    for (const shaders::Spirv& s : shaders::all()) {
        if (!starts_with(s.name, "matvec_") && !starts_with(s.name, "matmul_")) continue;
        CAPTURE(s.name);
        const auto caps = capabilities(s);
        for (std::uint32_t c : caps) {
            CAPTURE(c);
            CHECK(optional.count(c) == 0);
            if (s.name.ends_with("_shared") || starts_with(s.name, "matmul_") ||
                starts_with(s.name, "matvec_transposed_"))
                CHECK(subgroup.count(c) == 0);
        }
        ++checked;
    }
    // 16 types x {matvec, _shared, tokens, tokens_shared, expert, expert_shared, matmul,
    // matmul expert, transposed}
    CHECK(checked == 16 * 9);
}

TEST_CASE("on a device without fp16, int8 and 8/16-bit storage the kernels run and stay right") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::DeviceOptions options;
    options.apply_env();
    for (const char* name : {"fp16", "int8", "storage16", "storage8", "dot", "subgroup_size"})
        options.disable(name);
    vk::Device device(gpu.instance(), options);
    const auto& f = device.features();
    CHECK_FALSE(f.shader_float16);
    CHECK_FALSE(f.storage_buffer_8bit);
    CHECK_FALSE(f.storage_buffer_16bit);

    // Forcing the shared-memory reduction as well changes the chosen variant.
    kernels::MatvecConfig config = kernels::default_matvec_config(device);
    kernels::MatKernels sub(device, config);
    config.subgroup_reduce = false;
    kernels::MatKernels shared(device, config);
    CHECK(shared.matvec_variant(TensorType::Q4_K, false) != sub.matvec_variant(TensorType::Q4_K, false));
    CHECK(shared.matvec_variant(TensorType::Q4_K, false) == "matvec_q4_k_shared");

    std::uint32_t seed = 5000;
    for (kernels::MatKernels* mat : {&sub, &shared}) {
        if (mat == &sub && !kernels::has_subgroup_arithmetic(device)) continue;
        for (TensorType type : {TensorType::F16, TensorType::BF16, TensorType::Q8_0, TensorType::Q4_K,
                                TensorType::Q6_K, TensorType::MXFP4}) {
            CAPTURE(gguf::type_name(type));
            CAPTURE(mat->matvec_variant(type, false));
            const std::uint32_t cols = gguf::type_traits(type).block_elements == 256 ? 512 : 96;
            const auto m = test::random_matrix(type, 13, cols, seed++);
            const auto x = test::gaussian(std::size_t{cols} * 3, seed++);
            std::vector<float> want(13), want3(std::size_t{13} * 3);
            cpu::reference_matvec(m.view(), std::span<const float>(x).first(cols), want);
            cpu::reference_matmul(m.view(), x, 3, want3);

            const vk::Buffer w = test::device_bytes(device, m.bytes, "w");
            const vk::Buffer dx = test::device_floats(device, x, "x");
            vk::Buffer dy(device, 13 * 4, vk::MemoryKind::DeviceLocal, "y");
            vk::Buffer dy3(device, 13 * 3 * 4, vk::MemoryKind::DeviceLocal, "y3");
            const kernels::DeviceMatrix dm{.buffer = &w, .type = type, .rows = 13, .cols = cols};
            const auto got = test::run_and_read(device, dy, [&](vk::CommandBuffer& cmd) {
                mat->matvec(cmd, dm, {.buffer = &dx}, {.buffer = &dy});
            });
            CHECK(test::nmse(want, got) <= test::matvec_nmse_bound(type));
            const auto got3 = test::run_and_read(device, dy3, [&](vk::CommandBuffer& cmd) {
                mat->matmul(cmd, dm, {.buffer = &dx}, {.buffer = &dy3}, 3);
            });
            CHECK(test::nmse(want3, got3) <= test::kMatmulNmseBound);
        }
    }
    device.wait_idle();
}
