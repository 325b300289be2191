// BlockOps: construction, RMSNorm, RoPE and KV append.
#include "base/error.h"
#include "kernels/block_ops.h"
#include "kernels/block_ops_push.h"
#include "kernels/block_ops_util.h"

#include <algorithm>
#include <utility>

namespace ferry::kernels {

using detail::require_bytes;
using detail::spread_groups;

BlockOps::BlockOps(vk::Device& device, const BlockOpsOptions& options)
    : pipelines_(device),
      kv_f16_(device.features().storage_buffer_16bit),
      max_binding_bytes_(options.max_binding_bytes) {
    if (device.info().type == vk::DeviceType::Cpu) {
        const std::uint32_t simd = std::max<std::uint32_t>(device.limits().subgroup_size, 4);
        wg_small_rows_ = wg_attention_ = simd;
        // Top-k with k >= 200 in workgroups of 8 or 16 returned partly unwritten results on
        // lavapipe 22.3 (tests/kernels; not root-caused); 32 and more never did.
        wg_rows_ = std::max<std::uint32_t>(32, simd);
    }
    for (auto [chosen, wanted] :
         {std::pair{&wg_, options.elementwise_workgroup}, std::pair{&wg_rows_, options.reduction_workgroup},
          std::pair{&wg_attention_, options.attention_workgroup},
          std::pair{&wg_small_rows_, options.router_workgroup}}) {
        if (wanted && !detail::is_power_of_two(wanted))
            fail("workgroup size {} is not a power of two", wanted);
        if (wanted) *chosen = wanted;
        // Every Vulkan device allows 128 invocations; larger sizes shrink to the limit.
        while (*chosen > device.limits().max_workgroup_invocations) *chosen /= 2;
    }
}

void BlockOps::rms_norm(vk::CommandBuffer& cmd, const RmsNormArgs& a) {
    const std::uint32_t xs = a.x_stride ? a.x_stride : a.n, ys = a.y_stride ? a.y_stride : a.n;
    if (a.n == 0 || a.rows == 0) fail("rms_norm: empty shape (n {}, rows {})", a.n, a.rows);
    if (xs < a.n || ys < a.n) fail("rms_norm: row strides {} / {} shorter than n {}", xs, ys, a.n);
    const auto row_end = [&](std::uint32_t stride) { return (std::uint64_t(a.rows - 1) * stride + a.n) * 4; };
    require_bytes(a.x, row_end(xs), "rms_norm", "x");
    require_bytes(a.y, row_end(ys), "rms_norm", "y");
    if (!a.unweighted) require_bytes(a.weight, std::uint64_t(a.n) * 4, "rms_norm", "weight");
    // Rows of a head (128) use a smaller group than rows of n_embd.
    const std::uint32_t wg = a.n <= 256 ? wg_small_rows_ : wg_rows_;
    const vk::Pipeline& p = pipelines_.get({.shader = a.unweighted ? "rms_norm_plain" : "rms_norm",
                                            .spec_constants = {wg},
                                            .push_constant_bytes = sizeof(push::RmsNorm),
                                            .storage_buffers = 3});
    const push::RmsNorm pc{a.n, a.rows, xs, ys, a.eps};
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.x, a.unweighted ? a.x : a.weight, a.y},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(a.rows)});
}

void BlockOps::rope(vk::CommandBuffer& cmd, const RopeArgs& a) {
    const int rot = a.params.rot_dims;
    if (rot <= 0 || std::uint32_t(rot) > a.head_dim || rot % 2)
        fail("rope: rot_dims {} must be even and in 1..head_dim {}", rot, a.head_dim);
    const std::uint32_t stride = a.token_stride ? a.token_stride : a.n_heads * a.head_dim;
    if (a.tokens == 0 || a.n_heads == 0 || stride < a.n_heads * a.head_dim)
        fail("rope: bad shape (tokens {}, heads {}, head_dim {}, stride {})", a.tokens, a.n_heads, a.head_dim,
             stride);
    require_bytes(a.x, (std::uint64_t(a.tokens - 1) * stride + a.n_heads * a.head_dim) * 4, "rope", "x");
    require_bytes(a.positions, std::uint64_t(a.tokens) * 4, "rope", "positions");
    const char* shader = a.params.style == cpu::RopeStyle::Neox ? "rope_neox" : "rope_normal";
    const vk::Pipeline& p = pipelines_.get({.shader = shader,
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::Rope),
                                            .storage_buffers = 3});
    const cpu::RopeParams& r = a.params;
    const push::Rope pc{a.tokens,     a.n_heads,    a.head_dim,    std::uint32_t(rot), stride,  r.freq_base,
                        r.freq_scale, r.ext_factor, r.corr_low,    r.corr_high,        r.mscale,
                        a.freq_factors ? 1u : 0u};
    if (a.freq_factors) require_bytes(*a.freq_factors, std::uint64_t(rot / 2) * 4, "rope", "freq_factors");
    const std::uint64_t pairs = std::uint64_t(a.tokens) * a.n_heads * std::uint32_t(rot / 2);
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.x, a.positions, a.freq_factors ? *a.freq_factors : a.positions},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups((pairs + wg_ - 1) / wg_)});
}

std::uint64_t kv_cache_bytes(std::uint32_t n_ctx, std::uint32_t n_kv_heads, std::uint32_t head_dim) {
    return std::uint64_t(n_ctx) * n_kv_heads * head_dim * 2;
}

void BlockOps::kv_append(vk::CommandBuffer& cmd, const KvAppendArgs& a) {
    const std::uint32_t row = a.n_kv_heads * a.head_dim;
    const std::uint32_t ks = a.k_stride ? a.k_stride : row, vs = a.v_stride ? a.v_stride : row;
    if (a.head_dim == 0 || a.head_dim % 4) fail("kv_append: head_dim {} must be a multiple of 4", a.head_dim);
    if (a.tokens == 0 || row == 0 || ks < row || vs < row) fail("kv_append: bad shape");
    require_bytes(a.k, (std::uint64_t(a.tokens - 1) * ks + row) * 4, "kv_append", "k");
    require_bytes(a.v, (std::uint64_t(a.tokens - 1) * vs + row) * 4, "kv_append", "v");
    require_bytes(a.positions, std::uint64_t(a.tokens) * 4, "kv_append", "positions");
    const std::uint32_t rows = a.cache_rows ? std::min(a.cache_rows, a.n_ctx) : a.n_ctx;
    if (rows < a.tokens) fail("kv_append: {} tokens in one call into a ring of {} positions", a.tokens, rows);
    require_bytes(a.k_cache, kv_cache_bytes(rows, a.n_kv_heads, a.head_dim), "kv_append", "k_cache");
    require_bytes(a.v_cache, kv_cache_bytes(rows, a.n_kv_heads, a.head_dim), "kv_append", "v_cache");
    const vk::Pipeline& p = pipelines_.get({.shader = kv_f16_ ? "kv_append_f16" : "kv_append",
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::KvAppend),
                                            .storage_buffers = 5});
    const push::KvAppend pc{a.tokens, row, ks, vs, a.n_ctx, rows};
    const std::uint64_t quads = std::uint64_t(a.tokens) * row / 4;
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.k, a.v, a.positions, a.k_cache, a.v_cache},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups((quads + wg_ - 1) / wg_)});
}

}  // namespace ferry::kernels
