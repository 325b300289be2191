// BlockOps: the linear-attention (gated DeltaNet) ops — causal conv1d with its state, the
// delta rule — and the column gather that splits fused projections.
#include "base/error.h"
#include "kernels/block_ops.h"
#include "kernels/block_ops_push.h"
#include "kernels/block_ops_util.h"

#include <algorithm>

namespace ferry::kernels {

using detail::kMaxStrideGroups;
using detail::require_bytes;
using detail::spread_groups;

void BlockOps::ssm_conv(vk::CommandBuffer& cmd, const SsmConvArgs& a) {
    const std::uint32_t stride = a.x_stride ? a.x_stride : a.channels;
    if (a.kernel == 0 || a.kernel > kSsmMaxKernel)
        fail("ssm_conv: kernel of {} taps; the GPU conv takes 1..{}", a.kernel, kSsmMaxKernel);
    if (a.tokens == 0 || a.channels == 0 || stride < a.channels)
        fail("ssm_conv: bad shape ({} tokens, {} channels, stride {})", a.tokens, a.channels, stride);
    require_bytes(a.x, (std::uint64_t(a.tokens - 1) * stride + a.channels) * 4, "ssm_conv", "x");
    require_bytes(a.weight, std::uint64_t(a.channels) * a.kernel * 4, "ssm_conv", "weight");
    require_bytes(a.state, std::uint64_t(a.channels) * (a.kernel - 1) * 4, "ssm_conv", "state");
    const vk::Pipeline& p = pipelines_.get({.shader = "ssm_conv",
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::SsmConv),
                                            .storage_buffers = 3});
    const push::SsmConv pc{a.tokens, a.channels, a.kernel, stride, a.fresh ? 1u : 0u};
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.x, a.weight, a.state},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups((a.channels + wg_ - 1) / wg_)});
}

void BlockOps::delta_net(vk::CommandBuffer& cmd, const DeltaNetArgs& a) {
    const cpu::DeltaNetShape& s = a.shape;
    if (s.k_heads == 0 || s.v_heads == 0 || s.v_heads % s.k_heads || s.k_dim == 0 || s.v_dim == 0)
        fail("delta_net: {} V heads of {} over {} K heads of {}", s.v_heads, s.v_dim, s.k_heads, s.k_dim);
    if (s.k_dim > kDeltaMaxKDim) fail("delta_net: q/k heads of {}; the GPU kernel takes up to {}", s.k_dim, kDeltaMaxKDim);
    const std::uint32_t stride = a.mix_stride ? a.mix_stride : s.mix_width();
    if (a.tokens == 0 || stride < s.mix_width()) fail("delta_net: bad shape ({} tokens, stride {})", a.tokens, stride);
    const std::uint64_t T = a.tokens, Hv = s.v_heads;
    require_bytes(a.mix, ((T - 1) * stride + s.mix_width()) * 4, "delta_net", "mix");
    require_bytes(a.beta, T * Hv * 4, "delta_net", "beta");
    require_bytes(a.alpha, T * Hv * 4, "delta_net", "alpha");
    require_bytes(a.dt_bias, Hv * 4, "delta_net", "dt_bias");
    require_bytes(a.a, Hv * 4, "delta_net", "a");
    require_bytes(a.state, Hv * s.k_dim * s.v_dim * 4, "delta_net", "state");
    require_bytes(a.out, T * Hv * s.v_dim * 4, "delta_net", "out");
    // One workgroup per head, its invocations owning state columns. At least 32: in
    // workgroups of 8 lavapipe 22.3 returned wrong results after ~60 tokens of one dispatch
    // (tests/kernels, T = 64; not root-caused, like top-k's in block_ops_norm_rope.cpp).
    const std::uint32_t wg = std::max<std::uint32_t>(wg_small_rows_, 32);
    const vk::Pipeline& p = pipelines_.get({.shader = "delta_net",
                                            .spec_constants = {wg},
                                            .push_constant_bytes = sizeof(push::DeltaNet),
                                            .storage_buffers = 7});
    const push::DeltaNet pc{a.tokens,   s.k_heads, s.v_heads,     s.k_dim, s.v_dim,
                            stride,     s.grouped ? 1u : 0u,  a.fresh ? 1u : 0u, s.eps};
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.mix, a.beta, a.alpha, a.dt_bias, a.a, a.state, a.out},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(s.v_heads)});
}

void BlockOps::gather(vk::CommandBuffer& cmd, const GatherArgs& a) {
    const std::uint64_t per_token = std::uint64_t(a.groups) * a.len;
    if (a.tokens == 0 || per_token == 0) fail("gather: empty shape");
    const std::uint32_t out_group_stride = a.out_group_stride ? a.out_group_stride : a.len;
    if (out_group_stride < a.len) fail("gather: groups of {} overlap at an output stride of {}", a.len, out_group_stride);
    if (a.out_offset + std::uint64_t(a.groups - 1) * out_group_stride + a.len > a.out_stride ||
        a.in_offset + std::uint64_t(a.groups - 1) * a.in_group_stride + a.len > a.in_stride)
        fail("gather: {} groups of {} do not fit rows of {} -> {}", a.groups, a.len, a.in_stride, a.out_stride);
    require_bytes(a.in, std::uint64_t(a.tokens) * a.in_stride * 4, "gather", "in");
    require_bytes(a.out, std::uint64_t(a.tokens) * a.out_stride * 4, "gather", "out");
    const vk::Pipeline& p = pipelines_.get({.shader = "gather",
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::Gather),
                                            .storage_buffers = 2});
    const push::Gather pc{a.tokens, a.groups, a.len, a.in_stride, a.in_offset, a.in_group_stride, a.out_stride,
                          a.out_offset, out_group_stride};
    const std::uint64_t n = per_token * a.tokens;
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.in, a.out},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(std::min<std::uint64_t>((n + wg_ - 1) / wg_, kMaxStrideGroups))});
}

}  // namespace ferry::kernels
