// The GPU side of the MoE block: what the expert engine (offload/expert_engine.h) asks the
// model to record — the router (and its lookahead), the expert FFN over slots, the
// weighted sum, and the exchange of routes and CPU results with the host.
#include "base/error.h"
#include "kernels/expert_slots.h"
#include "model/gpu_blocks.h"
#include "vk/barrier.h"

#include <algorithm>
#include <cstring>

namespace ferry::model {

namespace {

struct ElementwisePush {
    std::uint32_t n;
    float scale;
};
constexpr std::uint32_t kElementwiseGroup = 256;

void start_timer(vk::CommandBuffer& cmd, offload::FfnTimer t) {
    if (!t.timer) return;
    t.timer->reset(cmd, t.first, 2);
    t.timer->write(cmd, t.first, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
}

void stop_timer(vk::CommandBuffer& cmd, offload::FfnTimer t) {
    if (t.timer) t.timer->write(cmd, t.first + 1, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
}

}  // namespace

kernels::Glu GpuBlocks::glu_kind() const {
    switch (config_.traits.activation) {
        case Activation::SwiGLU:
            return kernels::Glu::SwiGLU;
        case Activation::GeGLU:
            return kernels::Glu::GeGLU;
        case Activation::SwiGLUOai:
            return kernels::Glu::SwiGLUOai;
    }
    return kernels::Glu::SwiGLU;
}

// The engine's layers are the model's layers with experts.
const LayerTensors<DeviceTensor>& GpuBlocks::moe_layer(std::uint32_t engine_layer) const {
    return weights_.layers[config_.moe_layers.at(engine_layer)];
}

// The routed experts' GLU over `routes` rows of g and u (route r's expert is ids[r]), with
// the layer's gate/up expert biases where it has them.
void GpuBlocks::record_expert_glu(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t routes) {
    const LayerTensors<DeviceTensor>& L = moe_layer(layer);
    const std::uint32_t F = config_.n_ff_expert;
    kernels::GluArgs a{.gate = w_.g, .up = w_.u, .out = w_.a, .n = routes * F, .kind = glu_kind()};
    if (L.ffn_gate_exps_bias)
        a.bias = kernels::GluRouteBias{.ids = w_.ids,
                                       .bias_gate = L.ffn_gate_exps_bias.buffer,
                                       .bias_up = L.ffn_up_exps_bias.buffer,
                                       .width = F,
                                       .n_experts = config_.n_experts};
    ops_.glu(cmd, a);
}

// x += Σ_k w_k · (d_k + down bias of expert k where the layer has them).
void GpuBlocks::record_moe_combine(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens,
                                   const vk::Buffer& expert_out) {
    const DeviceTensor& bias = moe_layer(layer).ffn_down_exps_bias;
    kernels::MoeCombineArgs a{.x = w_.x,
                              .expert_out = expert_out,
                              .weights = w_.weights,
                              .tokens = tokens,
                              .n = config_.n_embd,
                              .top_k = config_.n_experts_used};
    if (bias) {
        a.ids = w_.ids;
        a.bias = bias.buffer;
        a.n_experts = config_.n_experts;
    }
    ops_.moe_combine(cmd, a);
}

// to += delta over n floats (shaders/elementwise.comp, add).
void GpuBlocks::elementwise_add(vk::CommandBuffer& cmd, const vk::Buffer& to, const vk::Buffer& delta,
                                std::uint32_t n) {
    const vk::Pipeline& add = pipelines_.get({.shader = "elementwise_add",
                                              .spec_constants = {kElementwiseGroup},
                                              .push_constant_bytes = sizeof(ElementwisePush),
                                              .storage_buffers = 3});
    const ElementwisePush pc{n, 1.f};
    cmd.dispatch({.pipeline = &add,
                  .buffers = {to, delta, to},
                  .push = vk::push_bytes(pc),
                  .groups = {vk::group_count(n, kElementwiseGroup)}});
    vk::compute_to_compute(cmd);
}

// In place on the batch's command buffer (shaders/elementwise.comp, scale or softcap).
void GpuBlocks::elementwise_scale(const vk::Buffer& a, std::uint32_t n, float factor, bool softcap) {
    const vk::Pipeline& p = pipelines_.get({.shader = softcap ? "elementwise_softcap" : "elementwise_scale",
                                            .spec_constants = {kElementwiseGroup},
                                            .push_constant_bytes = sizeof(ElementwisePush),
                                            .storage_buffers = 3});
    const ElementwisePush pc{n, factor};
    cmd_->dispatch({.pipeline = &p,
                    .buffers = {a, a, a},
                    .push = vk::push_bytes(pc),
                    .groups = {vk::group_count(n, kElementwiseGroup)}});
}

// The prefetch lookahead: layer `layer`'s (an engine index) MoE norm and router on the residual stream as it
// is now, into buffers of its own (the layer has not run yet for this token). Gemma 4's
// router reads RMSNorm(x) ⊙ ffn_gate_inp.scale / √E: the constant factor does not change
// the ranking, so the norm alone predicts the same experts; and while its experts sum
// into x, the residual is in resid.
void GpuBlocks::record_lookahead(vk::CommandBuffer& cmd, std::uint32_t layer) {
    const LayerTensors<DeviceTensor>& L = moe_layer(layer);
    const ModelConfig& c = config_;
    const DeviceTensor& norm = L.ffn_gate_inp_scale ? L.ffn_gate_inp_scale : L.ffn_norm;
    ops_.rms_norm(
        cmd,
        {.x = w_.resid.size() ? w_.resid : w_.x, .weight = norm.buffer, .y = w_.pred_h, .n = c.n_embd, .rows = 1, .eps = c.rms_eps});
    vk::compute_to_compute(cmd);
    mat_.matvec(cmd, L.ffn_gate_inp.matrix(), {.buffer = &w_.pred_h}, {.buffer = &w_.pred_logits});
    vk::compute_to_compute(cmd);
    if (L.ffn_gate_inp_bias) {
        ops_.rows(cmd, {.x = w_.pred_logits, .b = L.ffn_gate_inp_bias.buffer, .n = c.n_experts, .width = c.n_experts});
        vk::compute_to_compute(cmd);
    }
    ops_.router(cmd, {.logits = w_.pred_logits,
                      .ids = w_.pred_ids,
                      .weights = w_.pred_weights,
                      .bias = L.ffn_exp_probs_b ? std::optional<vk::BufferBinding>(L.ffn_exp_probs_b.buffer)
                                                : std::nullopt,
                      .tokens = 1,
                      .n_experts = c.n_experts,
                      .top_k = c.n_experts_used,
                      .function = c.traits.router,
                      .renormalize = c.traits.router_renormalize,
                      .weight_scale = c.expert_weights_scale});
    vk::compute_to_compute(cmd);
}

offload::LayerRoutes GpuBlocks::read_routes(vk::CommandBuffer& cmd, std::uint32_t routes, bool predicted,
                                            std::uint32_t h_rows) {
    const std::uint64_t bytes = routes * 4ull, K = config_.n_experts_used;
    vk::compute_to_transfer(cmd);
    cmd.copy(w_.ids, w_.readback, {0, 0, bytes});
    cmd.copy(w_.weights, w_.readback, {0, bytes, bytes});
    if (predicted) {
        cmd.copy(w_.pred_ids, w_.readback, {0, 2 * bytes, K * 4});
        cmd.copy(w_.pred_weights, w_.readback, {0, 2 * bytes + K * 4, K * 4});
    }
    const std::uint64_t h_at = 2 * bytes + 2 * K * 4, h_bytes = std::uint64_t(h_rows) * config_.n_embd * 4;
    if (h_rows) cmd.copy(w_.h, w_.readback, {0, h_at, h_bytes});
    vk::transfer_to_host(cmd);
    engine_.submit_and_wait(cmd);
    w_.readback.invalidate();
    offload::LayerRoutes r;
    const std::int32_t* ids = w_.readback.as<std::int32_t>().data();
    const float* weights = w_.readback.as<float>().data() + routes;
    r.ids.assign(ids, ids + routes);
    r.weights.assign(weights, weights + routes);
    if (predicted) {
        const std::int32_t* p = ids + 2 * routes;
        const float* pw = reinterpret_cast<const float*>(p + K);
        for (std::uint64_t k = 0; k < K; ++k)
            if (p[k] >= 0 && std::uint32_t(p[k]) < config_.n_experts) {
                r.predicted.push_back(std::uint32_t(p[k]));
                r.predicted_weights.push_back(pw[k]);
            }
    }
    if (h_rows) {
        const float* h = reinterpret_cast<const float*>(w_.readback.bytes().data() + h_at);
        r.h.assign(h, h + h_bytes / 4);
    }
    for (std::int32_t e : r.ids)
        if (e < 0 || std::uint32_t(e) >= config_.n_experts) fail("router returned expert id {}", e);
    return r;
}

// Through the second prefill staging area: decode never uses it otherwise.
void GpuBlocks::write_routes(vk::CommandBuffer& cmd, std::span<const std::int32_t> ids,
                             std::span<const float> weights) {
    std::byte* at = w_.staging.bytes().data() + w_.staging_second_area;
    std::memcpy(at, ids.data(), ids.size_bytes());
    std::memcpy(at + ids.size_bytes(), weights.data(), weights.size_bytes());
    cmd.begin();
    cmd.copy(w_.staging, w_.ids, {w_.staging_second_area, 0, ids.size_bytes()});
    cmd.copy(w_.staging, w_.weights, {w_.staging_second_area + ids.size_bytes(), 0, weights.size_bytes()});
    vk::transfer_to_compute(cmd);
    engine_.submit_and_wait(cmd);
}

// The gate/up/down offsets of one token's top-k experts (ids) in the layer's pools.
void GpuBlocks::record_slot_offsets(vk::CommandBuffer& cmd, std::uint32_t layer, const vk::BufferBinding& ids,
                                    const vk::Buffer& residency) {
    const ExpertFfnPools pools = expert_ffn_pools(engine_.pools().layer(layer));
    kernels::record_expert_slots(pipelines_, cmd,
                                 {.ids = ids,
                                  .residency = residency,
                                  .gate_offsets = w_.gate_off,
                                  .up_offsets = w_.up_off,
                                  .down_offsets = w_.down_off,
                                  .routes = config_.n_experts_used,
                                  .n_experts = config_.n_experts,
                                  .gate_bytes = pools.gate_bytes,
                                  .up_bytes = pools.up_bytes,
                                  .down_bytes = pools.down_bytes});
    vk::compute_to_compute(cmd);
}

// x += Σ_k w_k · W_down[e_k] · act(W_gate[e_k] h, W_up[e_k] h), one token, no host sync.
void GpuBlocks::record_decode(vk::CommandBuffer& cmd, std::uint32_t layer, const vk::Buffer* residency,
                              offload::FfnTimer timer) {
    record_slot_offsets(cmd, layer, w_.ids, residency ? *residency : w_.residency);
    record_decode_ffn(cmd, layer, timer);
    record_moe_combine(cmd, layer, 1, w_.d);
    vk::compute_to_compute(cmd);
}

void GpuBlocks::record_decode_ffn(vk::CommandBuffer& cmd, std::uint32_t layer, offload::FfnTimer timer) {
    const ExpertFfnPools pools = expert_ffn_pools(engine_.pools().layer(layer));
    const std::uint32_t K = config_.n_experts_used, F = config_.n_ff_expert, E = config_.n_embd;
    start_timer(cmd, timer);
    mat_.expert_matvec(cmd, pools.gate, w_.gate_off, K, {.buffer = &w_.h},
                       {.buffer = &w_.g, .slot_stride = F});
    mat_.expert_matvec(cmd, pools.up, w_.up_off, K, {.buffer = &w_.h},
                       {.buffer = &w_.u, .slot_stride = F});
    vk::compute_to_compute(cmd);
    record_expert_glu(cmd, layer, K);
    vk::compute_to_compute(cmd);
    mat_.expert_matvec(cmd, pools.down, w_.down_off, K, {.buffer = &w_.a, .slot_stride = F},
                       {.buffer = &w_.d, .slot_stride = E});
    stop_timer(cmd, timer);
    vk::compute_to_compute(cmd);
}

void GpuBlocks::record_decode_pass(vk::CommandBuffer& cmd, std::uint32_t layer,
                                   std::span<const std::uint32_t> slots, std::span<const std::uint32_t> keep,
                                   offload::FfnTimer timer) {
    const ExpertFfnPools pools = expert_ffn_pools(engine_.pools().layer(layer));
    const std::uint32_t K = config_.n_experts_used, E = config_.n_embd;
    auto* offsets = reinterpret_cast<std::uint32_t*>(w_.staging.bytes().data() + w_.staging_offsets);
    const std::uint32_t slot_bytes[3] = {pools.gate_bytes, pools.up_bytes, pools.down_bytes};
    for (std::uint32_t k = 0; k < K; ++k)
        for (std::uint32_t part = 0; part < 3; ++part)
            offsets[part * K + k] = slots[k] * slot_bytes[part];
    vk::compute_to_transfer(cmd);
    cmd.copy(w_.staging, w_.gate_off, {w_.staging_offsets, 0, K * 4ull});
    cmd.copy(w_.staging, w_.up_off, {w_.staging_offsets + K * 4ull, 0, K * 4ull});
    cmd.copy(w_.staging, w_.down_off, {w_.staging_offsets + 2 * K * 4ull, 0, K * 4ull});
    vk::transfer_to_compute(cmd);
    record_decode_ffn(cmd, layer, timer);
    vk::compute_to_transfer(cmd);
    for (std::uint32_t k : keep) {
        const std::uint64_t row = std::uint64_t(k) * E * 4;
        cmd.copy(w_.d, w_.d_routes, {row, row, E * 4ull});
    }
    vk::transfer_to_compute(cmd);
}

// The GLU writes a separate buffer, so running it over every route per chunk changes
// nothing an earlier chunk did.
void GpuBlocks::record_prefill_chunk(vk::CommandBuffer& cb, std::uint32_t layer,
                                     std::span<const offload::ExpertGroup> groups, std::uint32_t area_index,
                                     offload::FfnTimer timer) {
    const ExpertFfnPools pools = expert_ffn_pools(engine_.pools().layer(layer));
    const std::uint32_t slot_bytes[3] = {pools.gate_bytes, pools.up_bytes, pools.down_bytes};
    const std::uint32_t K = config_.n_experts_used, F = config_.n_ff_expert, E = config_.n_embd, B = tokens_;
    const std::uint64_t table = std::uint64_t(config_.n_experts) * sizeof(kernels::gpu::ExpertGroup);
    const std::uint64_t area = area_index == 0 ? w_.staging_groups : w_.staging_second_area;
    std::byte* staging = w_.staging.bytes().data() + area;
    kernels::gpu::ExpertGroup* tables[3];
    for (int part = 0; part < 3; ++part)
        tables[part] = reinterpret_cast<kernels::gpu::ExpertGroup*>(staging + part * table);
    const std::uint64_t routes_at = area + 3 * table;
    auto* route_list = reinterpret_cast<std::uint32_t*>(w_.staging.bytes().data() + routes_at);
    std::uint32_t begin = 0, max_routes = 0;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const std::uint32_t count = std::uint32_t(groups[i].routes.size());
        std::copy(groups[i].routes.begin(), groups[i].routes.end(), route_list + begin);
        for (int part = 0; part < 3; ++part)
            tables[part][i] = {groups[i].slot * slot_bytes[part], begin, count, 0};
        begin += count;
        max_routes = std::max(max_routes, count);
    }
    const std::uint32_t n_groups = std::uint32_t(groups.size());
    const std::uint64_t bytes = std::uint64_t(n_groups) * sizeof(kernels::gpu::ExpertGroup);
    vk::compute_to_transfer(cb);
    cb.copy(w_.staging, w_.groups_gate, {area, 0, bytes});
    cb.copy(w_.staging, w_.groups_up, {area + table, 0, bytes});
    cb.copy(w_.staging, w_.groups_down, {area + 2 * table, 0, bytes});
    cb.copy(w_.staging, w_.routes, {routes_at, 0, begin * 4ull});
    vk::transfer_to_compute(cb);
    start_timer(cb, timer);
    const kernels::Activations h{.buffer = &w_.h, .token_stride = E};
    mat_.expert_matmul(cb, pools.gate, w_.groups_gate, n_groups, w_.routes, max_routes, K, h,
                       {.buffer = &w_.g, .token_stride = K * F, .slot_stride = F});
    mat_.expert_matmul(cb, pools.up, w_.groups_up, n_groups, w_.routes, max_routes, K, h,
                       {.buffer = &w_.u, .token_stride = K * F, .slot_stride = F});
    vk::compute_to_compute(cb);
    record_expert_glu(cb, layer, B * K);
    vk::compute_to_compute(cb);
    mat_.expert_matmul(cb, pools.down, w_.groups_down, n_groups, w_.routes, max_routes, K,
                       {.buffer = &w_.a, .token_stride = K * F, .slot_stride = F},
                       {.buffer = &w_.d, .token_stride = K * E, .slot_stride = E});
    stop_timer(cb, timer);
    vk::compute_to_compute(cb);
}

void GpuBlocks::record_combine(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens, bool passes,
                               std::span<const float> weights) {
    if (!weights.empty()) {
        std::memcpy(w_.staging.bytes().data() + w_.staging_weights, weights.data(), weights.size_bytes());
        vk::compute_to_transfer(cmd);
        cmd.copy(w_.staging, w_.weights, {w_.staging_weights, 0, weights.size_bytes()});
        vk::transfer_to_compute(cmd);
    }
    record_moe_combine(cmd, layer, tokens, passes ? w_.d_routes : w_.d);
    vk::compute_to_compute(cmd);
}

void GpuBlocks::record_add(vk::CommandBuffer& cmd, std::span<const float> sum) {
    std::memcpy(w_.staging.bytes().data() + w_.staging_cpu_out, sum.data(), sum.size_bytes());
    vk::compute_to_transfer(cmd);
    cmd.copy(w_.staging, w_.o, {w_.staging_cpu_out, 0, sum.size_bytes()});
    vk::transfer_to_compute(cmd);
    elementwise_add(cmd, w_.x, w_.o, std::uint32_t(sum.size()));
}

}  // namespace ferry::model
