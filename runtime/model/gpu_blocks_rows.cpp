// GpuBlocks for a decode step of several sequences (GpuModel::decode_many): token t is the
// next of rows_[t], so the steps that read a sequence's state — the KV cache and attention,
// the conv tail and the delta-rule state — run once per row, on that row's slice of the
// activations (bound at its offset) and its own state. The dense products run as one
// decode matvec over all rows (GpuBlocks::multiply: the weights read from memory once, each
// row's sums as alone); the resident experts as slot matvecs per row, each row having its
// own experts. Offloaded experts take the prefill path (the engine places them).
#include "model/gpu_blocks.h"

#include "kernels/expert_slots.h"
#include "model/gpu_model_work.h"
#include "vk/barrier.h"

namespace ferry::model {

namespace {

// Row t of a [tokens, width] F32 activation.
vk::BufferBinding row(const vk::Buffer& b, std::uint32_t t, std::uint64_t width) {
    return vk::BufferBinding(b, t * width * 4, width * 4);
}

}  // namespace

void GpuBlocks::attend_rows(std::uint32_t layer) {
    const ModelConfig& c = config_;
    const LayerAttention shape = layer_attention(c, layer);
    const std::uint64_t qd = std::uint64_t(c.n_heads) * shape.head_dim,
                        kvd = std::uint64_t(shape.n_kv_heads) * shape.head_dim;
    access({Act::K, Act::V}, {});
    auto position = [&](std::uint32_t t) {
        return vk::BufferBinding(w_.row_positions, t * Work::kRowPositionStride, 4);
    };
    for (std::uint32_t t = 0; t < tokens_; ++t) {
        const SequenceState& s = *rows_[t];
        ops_.kv_append(*cmd_, {.k = row(w_.k, t, kvd),
                               .v = row(c.has_mla() ? w_.k : w_.v, t, kvd),  // MLA: key and value
                               .positions = position(t),
                               .k_cache = s.layer(layer).k,
                               .v_cache = s.layer(layer).value_cache(),
                               .tokens = 1,
                               .n_kv_heads = shape.n_kv_heads,
                               .head_dim = shape.head_dim,
                               .n_ctx = s.n_ctx(),
                               .cache_rows = s.layer(layer).rows});
    }
    vk::compute_to_compute(*cmd_);  // the caches are not tracked: always a barrier
    const DeviceTensor& sinks = weights_.layers[layer].attn_sinks;
    for (std::uint32_t t = 0; t < tokens_; ++t) {
        const SequenceState& s = *rows_[t];
        ops_.attention(*cmd_, {.q = row(w_.q, t, qd),
                               .positions = position(t),
                               .k_cache = s.layer(layer).k,
                               .v_cache = s.layer(layer).value_cache(),
                               .out = row(w_.attn, t, qd),
                               .scratch = w_.attn_scratch,
                               .tokens = 1,
                               .kv_len = s.n_past() + 1,
                               .params = attention_params(c, layer),
                               .sinks = sinks ? std::optional<vk::BufferBinding>(sinks.buffer) : std::nullopt,
                               .cache_rows = s.layer(layer).rows});
        vk::compute_to_compute(*cmd_);  // the next row reuses the scratch
    }
    written_ = read_ = 0;
}

void GpuBlocks::conv_rows(std::uint32_t layer) {
    access({Act::Mix}, {Act::Mix});
    const std::uint64_t C = config_.ssm_mix_width();
    for (std::uint32_t t = 0; t < tokens_; ++t)  // rows and states apart: no barrier between
        ops_.ssm_conv(*cmd_, {.x = row(w_.mix, t, C),
                              .weight = weights_.layers[layer].ssm_conv1d.buffer,
                              .state = rows_[t]->layer(layer).conv,
                              .tokens = 1,
                              .channels = config_.ssm_mix_width(),
                              .kernel = config_.ssm_conv_kernel,
                              .fresh = rows_[t]->n_past() == 0});
    barrier();
}

void GpuBlocks::delta_net_rows(std::uint32_t layer) {
    access({Act::Mix, Act::Beta, Act::Alpha}, {Act::Ssm});
    const LayerTensors<DeviceTensor>& w = weights_.layers[layer];
    const std::uint64_t C = config_.ssm_mix_width(), Hv = config_.ssm_v_heads, Vd = config_.ssm_inner();
    for (std::uint32_t t = 0; t < tokens_; ++t)
        ops_.delta_net(*cmd_, {.mix = row(w_.mix, t, C),
                               .beta = row(w_.beta, t, Hv),
                               .alpha = row(w_.alpha, t, Hv),
                               .dt_bias = w.ssm_dt_bias.buffer,
                               .a = w.ssm_a.buffer,
                               .state = rows_[t]->layer(layer).ssm,
                               .out = row(w_.ssm, t, Vd),
                               .tokens = 1,
                               .shape = delta_net_shape(config_),
                               .fresh = rows_[t]->n_past() == 0});
    barrier();
}

// Each row's top-k experts as record_decode does for one token (slot offsets, gate and up,
// GLU, down; the offsets table is shared, so a barrier between rows), then one combine.
void GpuBlocks::experts_rows(std::uint32_t layer) {
    const ExpertFfnPools pools = expert_ffn_pools(engine_.pools().layer(layer));
    const LayerTensors<DeviceTensor>& L = moe_layer(layer);
    const std::uint32_t K = config_.n_experts_used, F = config_.n_ff_expert, E = config_.n_embd;
    // Each row's ids into an aligned slot of its own (a row of the router's [B, K] ids may
    // sit at any 4-byte offset; a binding may not).
    vk::compute_to_transfer(*cmd_);
    for (std::uint32_t t = 0; t < tokens_; ++t)
        cmd_->copy(w_.ids, w_.row_ids, {t * K * 4ull, t * Work::kRowPositionStride, K * 4ull});
    vk::transfer_to_compute(*cmd_);
    for (std::uint32_t t = 0; t < tokens_; ++t) {
        const vk::BufferBinding ids(w_.row_ids, t * Work::kRowPositionStride, K * 4ull);
        record_slot_offsets(*cmd_, layer, ids, w_.residency);
        const std::uint32_t ffn = t * K * F;
        mat_.expert_matvec(*cmd_, pools.gate, w_.gate_off, K, {.buffer = &w_.h, .offset = t * E},
                           {.buffer = &w_.g, .offset = ffn, .slot_stride = F});
        mat_.expert_matvec(*cmd_, pools.up, w_.up_off, K, {.buffer = &w_.h, .offset = t * E},
                           {.buffer = &w_.u, .offset = ffn, .slot_stride = F});
        vk::compute_to_compute(*cmd_);
        kernels::GluArgs glu{.gate = row(w_.g, t, K * F),
                             .up = row(w_.u, t, K * F),
                             .out = row(w_.a, t, K * F),
                             .n = K * F,
                             .kind = glu_kind()};
        if (L.ffn_gate_exps_bias)
            glu.bias = kernels::GluRouteBias{.ids = ids,
                                             .bias_gate = L.ffn_gate_exps_bias.buffer,
                                             .bias_up = L.ffn_up_exps_bias.buffer,
                                             .width = F,
                                             .n_experts = config_.n_experts};
        ops_.glu(*cmd_, glu);
        vk::compute_to_compute(*cmd_);
        mat_.expert_matvec(*cmd_, pools.down, w_.down_off, K,
                           {.buffer = &w_.a, .offset = ffn, .slot_stride = F},
                           {.buffer = &w_.d, .offset = t * K * E, .slot_stride = E});
        vk::compute_to_compute(*cmd_);  // the next row rewrites the offsets
    }
    record_moe_combine(*cmd_, layer, tokens_, w_.d);
    vk::compute_to_compute(*cmd_);
}

}  // namespace ferry::model
