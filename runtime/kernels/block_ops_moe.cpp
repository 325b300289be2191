// BlockOps: GLU, row ops (bias, scalar gate), router and the weighted sum of expert outputs.
#include "base/error.h"
#include "kernels/block_ops.h"
#include "kernels/block_ops_push.h"
#include "kernels/block_ops_util.h"

#include <algorithm>
#include <string>
#include <vector>

namespace ferry::kernels {

using detail::require_bytes;
using detail::spread_groups;

using detail::kMaxStrideGroups;

void BlockOps::glu(vk::CommandBuffer& cmd, const GluArgs& a) {
    if (a.n == 0) fail("glu: n is 0");
    require_bytes(a.gate, std::uint64_t(a.n) * 4, "glu", "gate");
    require_bytes(a.up, std::uint64_t(a.n) * 4, "glu", "up");
    require_bytes(a.out, std::uint64_t(a.n) * 4, "glu", "out");
    std::string shader = a.kind == Glu::SwiGLU ? "glu_swiglu" : a.kind == Glu::GeGLU ? "glu_geglu" : "glu_swiglu_oai";
    std::vector<vk::BufferBinding> buffers{a.gate, a.up, a.out};
    std::uint32_t width = 0;
    if (a.bias) {
        const GluRouteBias& b = *a.bias;
        if (b.width == 0 || a.n % b.width || b.n_experts == 0)
            fail("glu: {} floats are not rows of {} with biases of {} experts", a.n, b.width, b.n_experts);
        require_bytes(b.ids, std::uint64_t(a.n / b.width) * 4, "glu", "ids");
        require_bytes(b.bias_gate, std::uint64_t(b.n_experts) * b.width * 4, "glu", "bias_gate");
        require_bytes(b.bias_up, std::uint64_t(b.n_experts) * b.width * 4, "glu", "bias_up");
        shader += "_bias";
        buffers.insert(buffers.end(), {b.ids, b.bias_gate, b.bias_up});
        width = b.width;
    }
    const vk::Pipeline& p = pipelines_.get({.shader = shader,
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::Glu),
                                            .storage_buffers = std::uint32_t(buffers.size())});
    const push::Glu pc{a.n, width};
    cmd.dispatch({.pipeline = &p,
                  .buffers = std::move(buffers),
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(std::min<std::uint64_t>((a.n + wg_ - 1) / wg_, kMaxStrideGroups))});
}

void BlockOps::rows(vk::CommandBuffer& cmd, const RowArgs& a) {
    if (a.n == 0 || a.width == 0 || a.n % a.width) fail("rows: {} floats are not rows of {}", a.n, a.width);
    require_bytes(a.x, std::uint64_t(a.n) * 4, "rows", "x");
    require_bytes(a.b, std::uint64_t(a.op == RowOp::Add ? a.width : a.n / a.width) * 4, "rows", "b");
    const char* shader = a.op == RowOp::Add ? "rows_add" : a.op == RowOp::SigmoidGate ? "rows_sigmoid_gate" : "rows_scale";
    const vk::Pipeline& p = pipelines_.get({.shader = shader,
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::Rows),
                                            .storage_buffers = 2});
    const push::Rows pc{a.n, a.width};
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.x, a.b},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(std::min<std::uint64_t>((a.n + wg_ - 1) / wg_, kMaxStrideGroups))});
}

void BlockOps::router(vk::CommandBuffer& cmd, const RouterArgs& a) {
    if (a.n_experts == 0 || a.n_experts > kRouterMaxExperts)
        fail("router: {} experts; the GPU router takes 1..{}", a.n_experts, kRouterMaxExperts);
    if (a.top_k == 0 || a.top_k > a.n_experts || a.top_k > kRouterMaxK)
        fail("router: top_k {} out of range (1..{} for {} experts)", a.top_k,
             std::min(kRouterMaxK, a.n_experts), a.n_experts);
    if (a.tokens == 0) fail("router: no tokens");
    require_bytes(a.logits, std::uint64_t(a.tokens) * a.n_experts * 4, "router", "logits");
    require_bytes(a.ids, std::uint64_t(a.tokens) * a.top_k * 4, "router", "ids");
    require_bytes(a.weights, std::uint64_t(a.tokens) * a.top_k * 4, "router", "weights");
    if (a.bias) require_bytes(*a.bias, std::uint64_t(a.n_experts) * 4, "router", "bias");
    if (a.expert_scale) require_bytes(*a.expert_scale, std::uint64_t(a.n_experts) * 4, "router", "expert_scale");
    const std::uint32_t wg = wg_small_rows_;
    const vk::Pipeline& p = pipelines_.get({.shader = "router",
                                            .spec_constants = {wg},
                                            .push_constant_bytes = sizeof(push::Router),
                                            .storage_buffers = 5});
    const std::uint32_t function = a.function == cpu::RouterFunction::SoftmaxThenTopK   ? 0u
                                   : a.function == cpu::RouterFunction::TopKThenSoftmax ? 1u
                                                                                        : 2u;
    const push::Router pc{a.tokens,         a.n_experts,   a.top_k, function, a.renormalize ? 1u : 0u,
                          a.bias ? 1u : 0u, a.weight_scale,  a.expert_scale ? 1u : 0u};
    cmd.dispatch({.pipeline = &p,
                  .buffers = {a.logits, a.bias ? *a.bias : a.logits, a.ids, a.weights,
                              a.expert_scale ? *a.expert_scale : a.logits},
                  .push = vk::push_bytes(pc),
                  .groups = spread_groups(a.tokens)});
}

void BlockOps::moe_combine(vk::CommandBuffer& cmd, const MoeCombineArgs& a) {
    if (a.n == 0 || a.tokens == 0 || a.top_k == 0) fail("moe_combine: empty shape");
    const std::uint64_t elements = std::uint64_t(a.tokens) * a.n;
    if (elements > 0xFFFFFFFFull / 2) fail("moe_combine: {} elements in one call is too many", elements);
    require_bytes(a.x, elements * 4, "moe_combine", "x");
    require_bytes(a.expert_out, elements * a.top_k * 4, "moe_combine", "expert_out");
    require_bytes(a.weights, std::uint64_t(a.tokens) * a.top_k * 4, "moe_combine", "weights");
    std::vector<vk::BufferBinding> buffers{a.x, a.expert_out, a.weights};
    if (a.ids.has_value() != a.bias.has_value()) fail("moe_combine: expert biases need both ids and bias");
    if (a.bias) {
        if (a.n_experts == 0) fail("moe_combine: biases of 0 experts");
        require_bytes(*a.ids, std::uint64_t(a.tokens) * a.top_k * 4, "moe_combine", "ids");
        require_bytes(*a.bias, std::uint64_t(a.n_experts) * a.n * 4, "moe_combine", "bias");
        buffers.insert(buffers.end(), {*a.ids, *a.bias});
    }
    const vk::Pipeline& p = pipelines_.get({.shader = a.bias ? "moe_combine_bias" : "moe_combine",
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::MoeCombine),
                                            .storage_buffers = std::uint32_t(buffers.size())});
    const push::MoeCombine pc{a.tokens, a.n, a.top_k, a.accumulate ? 1u : 0u};
    cmd.dispatch(
        {.pipeline = &p,
         .buffers = std::move(buffers),
         .push = vk::push_bytes(pc),
         .groups = spread_groups(std::min<std::uint64_t>((elements + wg_ - 1) / wg_, kMaxStrideGroups))});
}

}  // namespace ferry::kernels
