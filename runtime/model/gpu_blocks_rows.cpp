// GpuBlocks for a decode step of several sequences (GpuModel::decode_many): token t is the
// next of rows_[t], so the steps that read a sequence's state — the KV cache and attention,
// the conv tail and the delta-rule state — run once per row, on that row's slice of the
// activations (bound at its offset) and its own state. Every other step runs on the whole
// batch as for a prefill.
#include "model/gpu_blocks.h"

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
    const std::uint64_t qd = std::uint64_t(c.n_heads) * c.head_dim, kvd = std::uint64_t(c.n_kv_heads) * c.head_dim;
    access({Act::K, Act::V}, {});
    auto position = [&](std::uint32_t t) {
        return vk::BufferBinding(w_.row_positions, t * Work::kRowPositionStride, 4);
    };
    for (std::uint32_t t = 0; t < tokens_; ++t) {
        const SequenceState& s = *rows_[t];
        ops_.kv_append(*cmd_, {.k = row(w_.k, t, kvd),
                               .v = row(w_.v, t, kvd),
                               .positions = position(t),
                               .k_cache = s.layer(layer).k,
                               .v_cache = s.layer(layer).v,
                               .tokens = 1,
                               .n_kv_heads = c.n_kv_heads,
                               .head_dim = c.head_dim,
                               .n_ctx = s.n_ctx()});
    }
    vk::compute_to_compute(*cmd_);  // the caches are not tracked: always a barrier
    const DeviceTensor& sinks = weights_.layers[layer].attn_sinks;
    for (std::uint32_t t = 0; t < tokens_; ++t) {
        const SequenceState& s = *rows_[t];
        ops_.attention(*cmd_, {.q = row(w_.q, t, qd),
                               .positions = position(t),
                               .k_cache = s.layer(layer).k,
                               .v_cache = s.layer(layer).v,
                               .out = row(w_.attn, t, qd),
                               .scratch = w_.attn_scratch,
                               .tokens = 1,
                               .kv_len = s.n_past() + 1,
                               .params = attention_params(c, layer),
                               .sinks = sinks ? std::optional<vk::BufferBinding>(sinks.buffer) : std::nullopt});
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

}  // namespace ferry::model
