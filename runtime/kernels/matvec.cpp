#include "kernels/matvec.h"

#include "base/error.h"
#include "vk/vulkan.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <vector>

namespace ferry::kernels {
namespace {

using gguf::TensorType;

constexpr std::uint64_t kMaxBinding = std::uint64_t{1} << 32;  // offsets are uint in the shaders
constexpr std::uint32_t kCpuDriverBatchTokens = 16;            // see default_matvec_config
constexpr std::uint32_t kTransposedWorkgroup = 64;             // shaders/matvec_transposed.comp's WG

std::string lower_name(TensorType type) {
    std::string s(gguf::type_name(type));
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_quantized(TensorType type) {
    return gguf::type_traits(type).block_elements > 1;
}

std::uint64_t row_bytes(TensorType type, std::uint32_t cols) {
    return gguf::row_bytes(gguf::type_traits(type), cols);
}

// Checks type, shape and stride; returns the row stride in bytes.
std::uint32_t check_shape(const char* what, TensorType type, std::uint32_t rows, std::uint32_t cols,
                          std::uint32_t row_stride, std::uint64_t offset) {
    if (!supports(type))
        fail("{}: weight type {} has no GPU matvec/matmul kernel", what, gguf::type_name(type));
    const auto& traits = gguf::type_traits(type);
    if (rows == 0 || cols == 0) fail("{}: empty matrix [{}, {}]", what, rows, cols);
    if (cols % traits.block_elements != 0)
        fail("{}: {} columns is not a whole number of {} blocks ({} elements)", what, cols, traits.name,
             traits.block_elements);
    const std::uint64_t packed = row_bytes(type, cols);
    const std::uint64_t stride = row_stride ? row_stride : packed;
    if (stride < packed)
        fail("{}: row stride {} bytes is shorter than a row ({} bytes)", what, stride, packed);
    if (offset % 4 != 0) fail("{}: weight byte offset {} is not a multiple of 4", what, offset);
    // These read whole words per row without a byte shift.
    if ((type == TensorType::F32 || type == TensorType::Q4_K) && stride % 4 != 0)
        fail("{}: {} row stride {} bytes is not a multiple of 4", what, traits.name, stride);
    if (stride >= kMaxBinding) fail("{}: row stride {} bytes does not fit in 32 bits", what, stride);
    return static_cast<std::uint32_t>(stride);
}

std::uint64_t matrix_bytes(std::uint32_t rows, std::uint32_t stride, TensorType type, std::uint32_t cols) {
    return std::uint64_t{rows - 1} * stride + row_bytes(type, cols);
}

void check_weights_fit(const char* what, const vk::Buffer* buffer, std::uint64_t end) {
    if (!buffer || !*buffer) fail("{}: no weight buffer", what);
    if (end > buffer->size())
        fail("{}: weights end at byte {} but buffer '{}' holds {}", what, end, buffer->name(),
             buffer->size());
}

// An expert pool is one binding: every table entry is an offset into it.
void check_pool_binding(const char* what, const vk::Buffer& pool, std::uint64_t max_binding) {
    if (pool.size() > std::min(max_binding, kMaxBinding))
        fail("{}: expert pool '{}' is {} bytes, more than one binding may span here ({}); split the pool",
             what, pool.name(), pool.size(), std::min(max_binding, kMaxBinding));
}

void check_rows_fit(const char* what, const char* which, const Activations& a, TensorType type,
                    std::uint64_t last_float) {
    if (!a.buffer || !*a.buffer) fail("{}: no {} buffer", what, which);
    if (is_quantized(type) && (a.offset % 4 != 0 || a.token_stride % 4 != 0 || a.slot_stride % 4 != 0))
        fail("{}: {} offset and strides must be multiples of 4 floats for {} weights (got {}, {}, {})", what,
             which, gguf::type_name(type), a.offset, a.token_stride, a.slot_stride);
    if (last_float * 4 > a.buffer->size())
        fail("{}: {} needs {} floats but buffer '{}' holds {} bytes", what, which, last_float,
             a.buffer->name(), a.buffer->size());
    if (last_float * 4 > kMaxBinding) fail("{}: {} passes 4 GiB", what, which);
}

std::uint32_t ceil_div(std::uint64_t n, std::uint64_t d) {
    return static_cast<std::uint32_t>((n + d - 1) / d);
}

// Rows [row0, row0 + rows) of a matrix, bound as buffer bytes [bind_offset, +bind_range)
// with the first row at weight_offset bytes into the binding.
struct RowChunk {
    std::uint32_t row0 = 0, rows = 0;
    std::uint64_t bind_offset = 0, bind_range = 0;
    std::uint32_t weight_offset = 0;
};

// Splits a matrix into row ranges that each fit in one binding of at most max_binding
// bytes starting at a multiple of `align`.
std::vector<RowChunk> split_rows(const char* what, std::uint64_t offset, std::uint32_t rows,
                                 std::uint32_t stride, std::uint64_t row_bytes, std::uint64_t buffer_size,
                                 std::uint64_t max_binding, std::uint64_t align) {
    align = std::max<std::uint64_t>(align, 4);
    if (max_binding < align + stride)
        fail("{}: one row of {} bytes does not fit in a {}-byte binding", what, stride, max_binding);
    const auto per_chunk = static_cast<std::uint32_t>(
        std::min<std::uint64_t>((max_binding - align) / stride, std::numeric_limits<std::uint32_t>::max()));
    std::vector<RowChunk> chunks;
    for (std::uint32_t r0 = 0; r0 < rows; r0 += std::min(per_chunk, rows - r0)) {
        RowChunk c;
        c.row0 = r0;
        c.rows = std::min(per_chunk, rows - r0);
        const std::uint64_t start = offset + std::uint64_t{r0} * stride;
        const std::uint64_t end =
            std::min(buffer_size, (start + std::uint64_t{c.rows - 1} * stride + row_bytes + 3) / 4 * 4);
        c.bind_offset = start / align * align;
        c.bind_range = end - c.bind_offset;
        c.weight_offset = static_cast<std::uint32_t>(start - c.bind_offset);
        chunks.push_back(c);
    }
    return chunks;
}

}  // namespace

bool supports(TensorType type) {
    switch (type) {
        case TensorType::F32:
        case TensorType::F16:
        case TensorType::BF16:
        case TensorType::Q4_0:
        case TensorType::Q4_1:
        case TensorType::Q5_0:
        case TensorType::Q5_1:
        case TensorType::Q8_0:
        case TensorType::Q2_K:
        case TensorType::Q3_K:
        case TensorType::Q4_K:
        case TensorType::Q5_K:
        case TensorType::Q6_K:
        case TensorType::IQ4_NL:
        case TensorType::IQ4_XS:
        case TensorType::MXFP4:
            return true;
        default:
            return false;
    }
}

bool has_subgroup_arithmetic(const vk::Device& device) {
    VkPhysicalDeviceSubgroupProperties subgroup{};
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props.pNext = &subgroup;
    vkGetPhysicalDeviceProperties2(device.physical(), &props);
    const VkSubgroupFeatureFlags needed = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    return subgroup.subgroupSize > 1 && (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
           (subgroup.supportedOperations & needed) == needed;
}

MatvecConfig default_matvec_config(const vk::Device& device) {
    MatvecConfig c;
    const std::uint32_t subgroup = device.limits().subgroup_size;
    const std::uint32_t limit = std::max<std::uint32_t>(32, device.limits().max_workgroup_invocations);
    c.workgroup_size = std::min(std::clamp<std::uint32_t>(std::bit_ceil(std::max(subgroup, 1u) * 4), 32, 256),
                                std::bit_floor(limit));
    c.rows_per_workgroup = 2;
    c.subgroup_reduce = has_subgroup_arithmetic(device);
    // A CPU driver (lavapipe) runs the tiled matmul far slower per token than matvec at
    // every batch measured (bench/RESULTS.md, "matvec for short batches"); on GPUs matmul's
    // decode-once tiles win past a few tokens.
    c.batch_tokens = device.info().type == vk::DeviceType::Cpu ? kCpuDriverBatchTokens : 4;
    if (const char* env = std::getenv("FERRY_MATVEC_BATCH_TOKENS")) c.batch_tokens = std::uint32_t(std::atoi(env));
    return c;
}

MatKernels::MatKernels(vk::Device& device) : MatKernels(device, default_matvec_config(device)) {}

MatKernels::MatKernels(vk::Device& device, const MatvecConfig& config) : device_(device), config_(config) {
    const auto& limits = device.limits();
    if (!std::has_single_bit(config.workgroup_size) ||
        config.workgroup_size > limits.max_workgroup_invocations ||
        config.workgroup_size > limits.max_workgroup_size_x)
        fail("matvec workgroup size {} must be a power of two of at most {} on {}", config.workgroup_size,
             std::min(limits.max_workgroup_invocations, limits.max_workgroup_size_x), device.info().name);
    if (config.rows_per_workgroup == 0 || config.rows_per_workgroup > 16)
        fail("matvec rows per workgroup {} must be 1..16", config.rows_per_workgroup);
    if (std::uint64_t{config.rows_per_workgroup} * config.workgroup_size * 4 >
        limits.max_compute_shared_memory)
        fail("matvec: {} rows x {} invocations of partial sums pass the {} bytes of shared memory of {}",
             config.rows_per_workgroup, config.workgroup_size, limits.max_compute_shared_memory,
             device.info().name);
}

MatKernels::~MatKernels() = default;

std::uint64_t MatKernels::max_binding() const {
    // Shader byte offsets are uint: keep every binding under 4 GiB.
    const std::uint64_t device_max = std::min(device_.limits().max_storage_buffer_range, kMaxBinding - 4);
    return config_.max_binding_bytes ? std::min(config_.max_binding_bytes, device_max) : device_max;
}

std::string MatKernels::matvec_variant(TensorType type, bool expert) const {
    return fmt::format("matvec_{}{}{}", expert ? "expert_" : "", lower_name(type),
                       config_.subgroup_reduce ? "" : "_shared");
}

std::string MatKernels::tokens_variant(TensorType type) const {
    return fmt::format("matvec_tokens_{}{}", lower_name(type), config_.subgroup_reduce ? "" : "_shared");
}

std::string MatKernels::matmul_variant(TensorType type, bool expert) const {
    return fmt::format("matmul_{}{}", expert ? "expert_" : "", lower_name(type));
}

// Elements one invocation handles per step in shaders/matvec_weights.glsl (MV_UNIT).
std::uint32_t unit_elements(TensorType type) {
    switch (type) {
        case TensorType::Q4_K:
            return FERRY_MV_UNIT_Q4_K;
        case TensorType::F32:
        case TensorType::F16:
        case TensorType::BF16:
            return FERRY_MV_UNIT_PLAIN;
        default:
            return FERRY_MV_UNIT_BLOCK;
    }
}

std::uint32_t MatKernels::matvec_rows(TensorType type, std::uint32_t cols) const {
    const std::uint32_t units = ceil_div(cols, unit_elements(type));
    const std::uint32_t wanted = std::bit_ceil(ceil_div(config_.workgroup_size, units));
    std::uint32_t rows = std::max(config_.rows_per_workgroup, std::min(wanted, 16u));
    while (rows > config_.rows_per_workgroup &&
           std::uint64_t{rows} * config_.workgroup_size * 4 > device_.limits().max_compute_shared_memory)
        rows /= 2;
    return rows;
}

const vk::Pipeline& MatKernels::pipeline(const std::string& name, std::uint32_t buffers,
                                         std::uint32_t matvec_rows) {
    const std::string key = matvec_rows ? fmt::format("{}/rows={}", name, matvec_rows) : name;
    auto it = pipelines_.find(key);
    if (it == pipelines_.end()) {
        vk::PipelineDesc desc{.shader = name,
                              .spec_constants = {},
                              .push_constant_bytes = sizeof(gpu::MatPush),
                              .storage_buffers = buffers};
        if (matvec_rows) desc.spec_constants = {config_.workgroup_size, matvec_rows};
        it = pipelines_.emplace(key, std::make_unique<vk::Pipeline>(device_, desc)).first;
    }
    return *it->second;
}

void MatKernels::product(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x,
                         const Activations& y, std::uint32_t n_tokens) {
    if (n_tokens <= config_.batch_tokens)
        matvec(cmd, w, x, y, n_tokens);
    else
        matmul(cmd, w, x, y, n_tokens);
}

void MatKernels::matvec(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x,
                        const Activations& y, std::uint32_t n_tokens) {
    const char* what = "matvec";
    const std::uint32_t stride = check_shape(what, w.type, w.rows, w.cols, w.row_stride, w.offset);
    check_weights_fit(what, w.buffer, w.offset + matrix_bytes(w.rows, stride, w.type, w.cols));
    if (n_tokens == 0) fail("{}: no tokens", what);
    const std::uint32_t x_stride = x.token_stride ? x.token_stride : w.cols;
    const std::uint32_t y_stride = y.token_stride ? y.token_stride : w.rows;
    check_rows_fit(what, "x", x, w.type, x.offset + std::uint64_t{n_tokens - 1} * x_stride + w.cols);
    check_rows_fit(what, "y", y, TensorType::F32, y.offset + std::uint64_t{n_tokens - 1} * y_stride + w.rows);

    const std::uint32_t rows_per_group = matvec_rows(w.type, w.cols);
    const std::string variant = n_tokens > 1 ? tokens_variant(w.type) : matvec_variant(w.type, false);
    const vk::Pipeline& pipe = pipeline(variant, FERRY_MAT_BUFFERS, rows_per_group);
    for (const RowChunk& c :
         split_rows(what, w.offset, w.rows, stride, row_bytes(w.type, w.cols), w.buffer->size(),
                    max_binding(), device_.limits().min_storage_buffer_offset_alignment)) {
        const gpu::MatPush push{.rows = c.rows,
                                .cols = w.cols,
                                .row_stride = stride,
                                .weight_offset = c.weight_offset,
                                .n_tokens = n_tokens,
                                .n_slots = 1,
                                .x_offset = x.offset,
                                .x_stride = x_stride,
                                .x_slot_stride = 0,
                                .y_offset = y.offset + c.row0,
                                .y_stride = y_stride,
                                .y_slot_stride = 0};
        const std::uint32_t blocks = ceil_div(c.rows, rows_per_group);
        const std::uint32_t gx = std::min(blocks, device_.limits().max_workgroup_count_x);
        cmd.dispatch({.pipeline = &pipe,
                      .buffers = {{*w.buffer, c.bind_offset, c.bind_range}, *x.buffer, *y.buffer},
                      .push = vk::push_bytes(push),
                      .groups = {gx, 1, ceil_div(blocks, gx)}});
    }
}

void MatKernels::expert_matvec(vk::CommandBuffer& cmd, const ExpertMatrices& w,
                               const vk::Buffer& slot_offsets, std::uint32_t n_slots, const Activations& x,
                               const Activations& y) {
    const char* what = "expert matvec";
    const std::uint32_t stride = check_shape(what, w.type, w.rows, w.cols, w.row_stride, w.offset);
    check_weights_fit(what, w.pool, w.offset + matrix_bytes(w.rows, stride, w.type, w.cols));
    check_pool_binding(what, *w.pool, max_binding());
    if (n_slots == 0) fail("{}: no selected experts", what);
    if (slot_offsets.size() < std::uint64_t{n_slots} * 4)
        fail("{}: slot table '{}' holds {} bytes, {} slots need {}", what, slot_offsets.name(),
             slot_offsets.size(), n_slots, n_slots * 4);
    const std::uint32_t y_slot = y.slot_stride ? y.slot_stride : w.rows;
    check_rows_fit(what, "x", x, w.type, x.offset + std::uint64_t{n_slots - 1} * x.slot_stride + w.cols);
    check_rows_fit(what, "y", {y.buffer, y.offset, y.token_stride, y_slot}, TensorType::F32,
                   y.offset + std::uint64_t{n_slots - 1} * y_slot + w.rows);

    const gpu::MatPush push{.rows = w.rows,
                            .cols = w.cols,
                            .row_stride = stride,
                            .weight_offset = static_cast<std::uint32_t>(w.offset),
                            .n_tokens = 1,
                            .n_slots = n_slots,
                            .x_offset = x.offset,
                            .x_stride = 0,
                            .x_slot_stride = x.slot_stride,
                            .y_offset = y.offset,
                            .y_stride = 0,
                            .y_slot_stride = y_slot};
    const std::uint32_t rows_per_group = matvec_rows(w.type, w.cols);
    const std::uint32_t blocks = ceil_div(w.rows, rows_per_group);
    const std::uint32_t gx = std::min(blocks, device_.limits().max_workgroup_count_x);
    cmd.dispatch(
        {.pipeline = &pipeline(matvec_variant(w.type, true), FERRY_MATVEC_EXPERT_BUFFERS, rows_per_group),
         .buffers = {*w.pool, *x.buffer, *y.buffer, slot_offsets},
         .push = vk::push_bytes(push),
         .groups = {gx, n_slots, ceil_div(blocks, gx)}});
}

void MatKernels::matmul(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x,
                        const Activations& y, std::uint32_t n_tokens) {
    const char* what = "matmul";
    const std::uint32_t stride = check_shape(what, w.type, w.rows, w.cols, w.row_stride, w.offset);
    check_weights_fit(what, w.buffer, w.offset + matrix_bytes(w.rows, stride, w.type, w.cols));
    if (n_tokens == 0) fail("{}: no tokens", what);
    const std::uint32_t x_stride = x.token_stride ? x.token_stride : w.cols;
    const std::uint32_t y_stride = y.token_stride ? y.token_stride : w.rows;
    check_rows_fit(what, "x", x, TensorType::F32, x.offset + std::uint64_t{n_tokens - 1} * x_stride + w.cols);
    check_rows_fit(what, "y", y, TensorType::F32, y.offset + std::uint64_t{n_tokens - 1} * y_stride + w.rows);

    const vk::Pipeline& pipe = pipeline(matmul_variant(w.type, false), FERRY_MAT_BUFFERS);
    for (const RowChunk& c :
         split_rows(what, w.offset, w.rows, stride, row_bytes(w.type, w.cols), w.buffer->size(),
                    max_binding(), device_.limits().min_storage_buffer_offset_alignment)) {
        const gpu::MatPush push{.rows = c.rows,
                                .cols = w.cols,
                                .row_stride = stride,
                                .weight_offset = c.weight_offset,
                                .n_tokens = n_tokens,
                                .n_slots = 1,
                                .x_offset = x.offset,
                                .x_stride = x_stride,
                                .x_slot_stride = 0,
                                .y_offset = y.offset + c.row0,
                                .y_stride = y_stride,
                                .y_slot_stride = 0};
        cmd.dispatch({.pipeline = &pipe,
                      .buffers = {{*w.buffer, c.bind_offset, c.bind_range}, *x.buffer, *y.buffer},
                      .push = vk::push_bytes(push),
                      .groups = {ceil_div(c.rows, FERRY_MATMUL_TILE_ROWS),
                                 ceil_div(n_tokens, FERRY_MATMUL_TILE_TOKENS), 1}});
    }
}

void MatKernels::matvec_transposed(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x,
                                   const Activations& y, std::uint32_t n_tokens) {
    const char* what = "transposed matvec";
    const std::uint32_t stride = check_shape(what, w.type, w.rows, w.cols, w.row_stride, w.offset);
    const std::uint64_t bytes = w.offset + matrix_bytes(w.rows, stride, w.type, w.cols);
    check_weights_fit(what, w.buffer, bytes);
    if (bytes > std::min(max_binding(), kMaxBinding)) fail("{}: {} bytes of weights pass one binding", what, bytes);
    if (n_tokens == 0) fail("{}: no tokens", what);
    const std::uint32_t x_stride = x.token_stride ? x.token_stride : w.rows;
    const std::uint32_t y_stride = y.token_stride ? y.token_stride : w.cols;
    check_rows_fit(what, "x", x, TensorType::F32, x.offset + std::uint64_t{n_tokens - 1} * x_stride + w.rows);
    check_rows_fit(what, "y", y, TensorType::F32, y.offset + std::uint64_t{n_tokens - 1} * y_stride + w.cols);
    if (n_tokens > 65535) fail("{}: {} tokens in one call is too many", what, n_tokens);
    const std::string name = fmt::format("matvec_transposed_{}", lower_name(w.type));
    auto it = pipelines_.find(name);
    if (it == pipelines_.end())
        it = pipelines_
                 .emplace(name, std::make_unique<vk::Pipeline>(
                                    device_, vk::PipelineDesc{.shader = name,
                                                              .spec_constants = {kTransposedWorkgroup},
                                                              .push_constant_bytes = sizeof(gpu::MatPush),
                                                              .storage_buffers = FERRY_MAT_BUFFERS}))
                 .first;
    const gpu::MatPush push{.rows = w.rows,
                            .cols = w.cols,
                            .row_stride = stride,
                            .weight_offset = static_cast<std::uint32_t>(w.offset),
                            .n_tokens = n_tokens,
                            .n_slots = 1,
                            .x_offset = x.offset,
                            .x_stride = x_stride,
                            .x_slot_stride = 0,
                            .y_offset = y.offset,
                            .y_stride = y_stride,
                            .y_slot_stride = 0};
    cmd.dispatch({.pipeline = it->second.get(),
                  .buffers = {*w.buffer, *x.buffer, *y.buffer},
                  .push = vk::push_bytes(push),
                  .groups = {ceil_div(w.cols, kTransposedWorkgroup), n_tokens, 1}});
}

void MatKernels::expert_matmul(vk::CommandBuffer& cmd, const ExpertMatrices& w, const vk::Buffer& groups,
                               std::uint32_t n_groups, const vk::Buffer& routes, std::uint32_t max_routes,
                               std::uint32_t n_slots, const Activations& x, const Activations& y) {
    const char* what = "expert matmul";
    const std::uint32_t stride = check_shape(what, w.type, w.rows, w.cols, w.row_stride, w.offset);
    check_weights_fit(what, w.pool, w.offset + matrix_bytes(w.rows, stride, w.type, w.cols));
    check_pool_binding(what, *w.pool, max_binding());
    if (n_groups == 0 || max_routes == 0 || n_slots == 0)
        fail("{}: {} groups, {} routes, {} slots: nothing to compute", what, n_groups, max_routes, n_slots);
    if (groups.size() < std::uint64_t{n_groups} * sizeof(gpu::ExpertGroup))
        fail("{}: group table '{}' holds {} bytes, {} groups need {}", what, groups.name(), groups.size(),
             n_groups, n_groups * sizeof(gpu::ExpertGroup));
    if (routes.size() < std::uint64_t{max_routes} * 4)
        fail("{}: route list '{}' holds {} bytes, fewer than the largest group's {} routes", what,
             routes.name(), routes.size(), max_routes);
    const std::uint32_t x_stride = x.token_stride ? x.token_stride : w.cols;
    const std::uint32_t y_slot = y.slot_stride ? y.slot_stride : w.rows;
    const std::uint32_t y_stride = y.token_stride ? y.token_stride : n_slots * y_slot;
    // Which tokens the routes name is only known on the GPU: check the first row of each.
    check_rows_fit(what, "x", {x.buffer, x.offset, x_stride, x.slot_stride}, TensorType::F32,
                   std::uint64_t{x.offset} + w.cols);
    check_rows_fit(what, "y", {y.buffer, y.offset, y_stride, y_slot}, TensorType::F32,
                   std::uint64_t{y.offset} + w.rows);

    const gpu::MatPush push{.rows = w.rows,
                            .cols = w.cols,
                            .row_stride = stride,
                            .weight_offset = static_cast<std::uint32_t>(w.offset),
                            .n_tokens = max_routes,
                            .n_slots = n_slots,
                            .x_offset = x.offset,
                            .x_stride = x_stride,
                            .x_slot_stride = x.slot_stride,
                            .y_offset = y.offset,
                            .y_stride = y_stride,
                            .y_slot_stride = y_slot};
    cmd.dispatch({.pipeline = &pipeline(matmul_variant(w.type, true), FERRY_MATMUL_EXPERT_BUFFERS),
                  .buffers = {*w.pool, *x.buffer, *y.buffer, groups, routes},
                  .push = vk::push_bytes(push),
                  .groups = {ceil_div(w.rows, FERRY_MATMUL_TILE_ROWS),
                             ceil_div(max_routes, FERRY_MATMUL_TILE_TOKENS), n_groups}});
}

}  // namespace ferry::kernels
