#include "model/gpu_blocks.h"

#include "base/error.h"
#include "kernels/expert_slots.h"
#include "vk/barrier.h"

#include <cmath>

namespace ferry::model {

namespace {

// DenseG/DenseU are G/U's buffers under another width: one bit each.
// Gemma 4's per-expert output scale, applied to the router's weights.
std::optional<vk::BufferBinding> expert_scale(const LayerTensors<DeviceTensor>& L) {
    if (!L.ffn_down_exps_scale) return std::nullopt;
    return L.ffn_down_exps_scale.buffer;
}

std::uint32_t bit(Act a) {
    if (a == Act::DenseG) a = Act::G;
    if (a == Act::DenseU) a = Act::U;
    return 1u << unsigned(a);
}

}  // namespace

GpuBlocks::GpuBlocks(const ModelConfig& config, const GpuWeights& weights, Work& work, kernels::BlockOps& ops,
                     kernels::MatKernels& mat, kernels::PipelineSet& pipelines, offload::ExpertEngine& engine)
    : config_(config),
      weights_(weights),
      w_(work),
      ops_(ops),
      mat_(mat),
      pipelines_(pipelines),
      engine_(engine) {}

void GpuBlocks::begin_batch(vk::CommandBuffer& cmd, SequenceState& sequence, std::uint32_t tokens,
                            bool all_logits, bool record_routes, std::span<SequenceState* const> row_sequences) {
    cmd_ = &cmd;
    sequence_ = &sequence;
    rows_ = row_sequences;
    tokens_ = tokens;
    all_logits_ = all_logits;
    record_routes_ = record_routes;
    written_ = read_ = 0;
}

const vk::Buffer& GpuBlocks::buffer(Act a) const {
    switch (a) {
        case Act::X:
            return w_.x;
        case Act::H:
            return w_.h;
        case Act::O:
            return w_.o;
        case Act::Q:
            return w_.q;
        case Act::K:
            return w_.k;
        case Act::V:
            return w_.v;
        case Act::Attn:
            return w_.attn;
        case Act::G:
        case Act::DenseG:
            return w_.ffn_g;
        case Act::U:
        case Act::DenseU:
            return w_.ffn_u;
        case Act::Gate:
            return w_.gate;
        case Act::Proj:
            return w_.proj;
        case Act::AttnGate:
            return w_.attn_gate;
        case Act::Mix:
            return w_.mix;
        case Act::Z:
            return w_.z;
        case Act::Beta:
            return w_.beta;
        case Act::Alpha:
            return w_.alpha;
        case Act::Ssm:
            return w_.ssm;
        case Act::QLora:
            return w_.q_lora;
        case Act::KvLora:
            return w_.kv_lora;
        case Act::Latent:
            return w_.latent;
        case Act::AttnV:
            return w_.attn_v;
        case Act::Resid:
            if (w_.resid.size() == 0) fail("this model keeps no residual aside (Act::Resid)");
            return w_.resid;
    }
    return w_.x;
}

std::uint32_t GpuBlocks::width(Act a) const {
    const ModelConfig& c = config_;
    switch (a) {
        case Act::Q:
        case Act::Attn:
        case Act::AttnGate:
            return c.n_heads * layer_attention(c, layer_).head_dim;
        case Act::Proj:  // MLA's q heads exactly: head_project reads them by token
            return c.has_mla() ? c.n_heads * c.mla_key_dim : c.fused_projection_width();
        case Act::Mix:
            return c.ssm_mix_width();
        case Act::Z:
        case Act::Ssm:
            return c.ssm_inner();
        case Act::Beta:
        case Act::Alpha:
            return c.ssm_v_heads;
        case Act::K:
        case Act::V: {
            const LayerAttention a = layer_attention(c, layer_);
            return a.n_kv_heads * a.head_dim;
        }
        case Act::G:
        case Act::U:
            return c.n_ff_shared;
        case Act::Gate:
            return 1;
        case Act::DenseG:
        case Act::DenseU:
            return c.n_ff_dense;
        case Act::QLora:
            return c.q_lora_rank;
        case Act::KvLora:
            return c.kv_lora_rank + c.rope_dims;
        case Act::Latent:
            return c.kv_lora_rank;
        case Act::AttnV:
            return c.n_heads * c.mla_value_dim;
        default:
            return c.n_embd;
    }
}

void GpuBlocks::barrier() {
    if (written_ | read_) vk::compute_to_compute(*cmd_);
    written_ = read_ = 0;
}

void GpuBlocks::access(std::initializer_list<Act> reads, std::initializer_list<Act> writes) {
    std::uint32_t r = 0, wr = 0;
    for (Act a : reads) r |= bit(a);
    for (Act a : writes) wr |= bit(a);
    // read after write, write after write, write after read
    if ((r & written_) || (wr & written_) || (wr & read_)) {
        vk::compute_to_compute(*cmd_);
        written_ = read_ = 0;
    }
    read_ |= r;
    written_ |= wr;
}

void GpuBlocks::embed() {
    access({}, {Act::X});
    const DeviceTensor& t = weights_.token_embd;
    ops_.embed(*cmd_, {.table = t.buffer,
                       .ids = w_.tokens,
                       .out = w_.x,
                       .type = t.type,
                       .n_rows = config_.n_vocab,
                       .n_cols = config_.n_embd,
                       .tokens = tokens_});
}

void GpuBlocks::scale(Act a, float factor) {
    access({a}, {a});
    elementwise_scale(buffer(a), tokens_ * width(a), factor, false);
}

void GpuBlocks::scale_by(Act a, const DeviceTensor& factor) {
    access({a}, {a});
    ops_.rows(*cmd_, {.x = buffer(a), .b = factor.buffer, .n = tokens_ * width(a), .width = tokens_ * width(a),
                      .op = kernels::RowOp::Scale});  // one row: every value times b[0]
}

void GpuBlocks::rms_norm(Act in, const DeviceTensor& weight, Act out) {
    access({in}, {out});
    ops_.rms_norm(*cmd_, {.x = buffer(in),
                          .weight = weight.buffer,
                          .y = buffer(out),
                          .n = width(in),
                          .rows = tokens_,
                          .eps = config_.rms_eps});
}

void GpuBlocks::head_norm(Act qk, const DeviceTensor& weight) {
    head_rms_norm(qk, &weight);
}

void GpuBlocks::head_rms(Act qk) {
    head_rms_norm(qk, nullptr);
}

// RMSNorm over each head's head_dim values in place; no weight: none.
void GpuBlocks::head_rms_norm(Act qk, const DeviceTensor* weight) {
    access({qk}, {qk});
    const HeadShape heads = head_shape(config_, qk, layer_);
    ops_.rms_norm(*cmd_, {.x = buffer(qk),
                          .weight = weight ? weight->buffer : buffer(qk),
                          .y = buffer(qk),
                          .n = heads.dim,
                          .rows = tokens_ * heads.count,
                          .eps = config_.rms_eps,
                          .unweighted = weight == nullptr});
}

void GpuBlocks::project(const DeviceTensor& W, Act in, Act out) {
    access({in}, {out});
    multiply(W.matrix(), {.buffer = &buffer(in)}, {.buffer = &buffer(out)});
}

// A decode step of several sequences runs the decode kernel over its rows, each row's sums
// as its sequence alone would form them; other batches take the faster kernel for their size.
void GpuBlocks::multiply(const kernels::DeviceMatrix& m, const kernels::Activations& x, const kernels::Activations& y) {
    if (!rows_.empty())
        mat_.matvec(*cmd_, m, x, y, tokens_);
    else
        mat_.product(*cmd_, m, x, y, tokens_);
}

// One product per head on its slice of the rows (recipe.h's HeadProjection), the
// transposed kernel for all tokens at once.
void GpuBlocks::head_project(const DeviceTensor& W, Act in, Act out, const HeadProjection& p) {
    access({in}, {out});
    const std::uint64_t row_bytes = gguf::row_bytes(gguf::type_traits(W.type), W.cols);
    const std::uint32_t in_width = width(in), out_width = width(out);
    for (std::uint32_t h = 0; h < p.heads; ++h) {
        const kernels::DeviceMatrix m{&W.buffer, (std::uint64_t(h) * p.head_rows + p.row_offset) * row_bytes, W.type,
                                      p.rows, W.cols, 0};
        const std::uint32_t x0 = p.in_offset + h * p.in_stride, y0 = p.out_offset + h * p.out_stride;
        const kernels::Activations x{.buffer = &buffer(in), .offset = x0, .token_stride = in_width},
            y{.buffer = &buffer(out), .offset = y0, .token_stride = out_width};
        if (p.transposed)
            mat_.matvec_transposed(*cmd_, m, x, y, tokens_);
        else
            multiply(m, x, y);
    }
}

void GpuBlocks::add_bias(Act a, const DeviceTensor& bias) {
    access({a}, {a});
    ops_.rows(*cmd_, {.x = buffer(a), .b = bias.buffer, .n = tokens_ * width(a), .width = width(a)});
}

void GpuBlocks::glu(Act gate, Act up) {
    access({gate, up}, {gate});
    ops_.glu(*cmd_, {.gate = buffer(gate),
                     .up = buffer(up),
                     .out = buffer(gate),
                     .n = tokens_ * width(gate),
                     .kind = glu_kind()});
}

void GpuBlocks::sigmoid_gate(Act a, Act gate) {
    access({a, gate}, {a});
    ops_.rows(*cmd_, {.x = buffer(a),
                      .b = buffer(gate),
                      .n = tokens_ * width(a),
                      .width = width(a) / width(gate),  // 1: elementwise
                      .op = kernels::RowOp::SigmoidGate});
}

void GpuBlocks::rope(Act qk) {
    access({qk}, {qk});
    const HeadShape heads = head_shape(config_, qk, layer_);
    const bool freq_factors = weights_.rope_freqs && layer_attention(config_, layer_).rope_freqs;
    ops_.rope(*cmd_, {.x = buffer(qk),
                      .positions = w_.positions,
                      .tokens = tokens_,
                      .n_heads = heads.count,
                      .head_dim = heads.dim,
                      .params = rope_params(config_, layer_),
                      .freq_factors = freq_factors ? std::optional<vk::BufferBinding>(weights_.rope_freqs.buffer)
                                                   : std::nullopt});
}

// k, v rows into the sequence's cache at their positions, then each query token over the
// cache up to its own position.
void GpuBlocks::attend(std::uint32_t layer) {
    if (!rows_.empty()) return attend_rows(layer);
    const ModelConfig& c = config_;
    const LayerState& state = sequence_->layer(layer);
    const LayerAttention shape = layer_attention(c, layer);
    access({Act::K, Act::V}, {});
    ops_.kv_append(*cmd_, {.k = w_.k,
                           .v = c.has_mla() ? w_.k : w_.v,  // MLA: the row is key and value
                           .positions = w_.positions,
                           .k_cache = state.k,
                           .v_cache = state.value_cache(),
                           .tokens = tokens_,
                           .n_kv_heads = shape.n_kv_heads,
                           .head_dim = shape.head_dim,
                           .n_ctx = sequence_->n_ctx(),
                           .cache_rows = state.rows});
    barrier();
    const DeviceTensor& sinks = weights_.layers[layer].attn_sinks;
    ops_.attention(*cmd_, {.q = w_.q,
                           .positions = w_.positions,
                           .k_cache = state.k,
                           .v_cache = state.value_cache(),
                           .out = w_.attn,
                           .scratch = w_.attn_scratch,
                           .tokens = tokens_,
                           .kv_len = sequence_->n_past() + tokens_,
                           .params = attention_params(c, layer),
                           .sinks = sinks ? std::optional<vk::BufferBinding>(sinks.buffer) : std::nullopt,
                           .cache_rows = state.rows});
    read_ |= bit(Act::Q);
    written_ |= bit(Act::Attn);
    barrier();  // the cache and scratch are not tracked
}

void GpuBlocks::gather(Act in, Act out, const Split& s) {
    access({in}, {out});
    ops_.gather(*cmd_, {.in = buffer(in),
                        .out = buffer(out),
                        .tokens = tokens_,
                        .groups = s.groups,
                        .len = s.len,
                        .in_stride = s.in_width,
                        .in_offset = s.in_offset,
                        .in_group_stride = s.in_group_stride,
                        .out_stride = width(out),
                        .out_offset = s.out_offset,
                        .out_group_stride = s.out_group_stride});
}

// The conv over the batch's tokens in place on Mix, with the sequence's rolling state.
void GpuBlocks::conv(std::uint32_t layer) {
    if (!rows_.empty()) return conv_rows(layer);
    access({Act::Mix}, {Act::Mix});
    ops_.ssm_conv(*cmd_, {.x = w_.mix,
                          .weight = weights_.layers[layer].ssm_conv1d.buffer,
                          .state = sequence_->layer(layer).conv,
                          .tokens = tokens_,
                          .channels = config_.ssm_mix_width(),
                          .kernel = config_.ssm_conv_kernel,
                          .fresh = sequence_->n_past() == 0});
    barrier();  // the state is not tracked
}

void GpuBlocks::delta_net(std::uint32_t layer) {
    if (!rows_.empty()) return delta_net_rows(layer);
    access({Act::Mix, Act::Beta, Act::Alpha}, {Act::Ssm});
    const LayerTensors<DeviceTensor>& w = weights_.layers[layer];
    ops_.delta_net(*cmd_, {.mix = w_.mix,
                           .beta = w_.beta,
                           .alpha = w_.alpha,
                           .dt_bias = w.ssm_dt_bias.buffer,
                           .a = w.ssm_a.buffer,
                           .state = sequence_->layer(layer).ssm,
                           .out = w_.ssm,
                           .tokens = tokens_,
                           .shape = delta_net_shape(config_),
                           .fresh = sequence_->n_past() == 0});
    barrier();  // the state is not tracked
}

void GpuBlocks::add(Act to, Act delta) {
    access({to, delta}, {to});
    elementwise_add(*cmd_, buffer(to), buffer(delta), tokens_ * width(to));
    written_ = read_ = 0;  // elementwise_add ends with a barrier
}

void GpuBlocks::route(std::uint32_t layer, const DeviceTensor& router) {
    access({Act::H}, {});
    multiply(router.matrix(), {.buffer = &w_.h}, {.buffer = &w_.router_logits});
    vk::compute_to_compute(*cmd_);
    if (const DeviceTensor& bias = weights_.layers[layer].ffn_gate_inp_bias) {
        ops_.rows(*cmd_, {.x = w_.router_logits, .b = bias.buffer, .n = tokens_ * config_.n_experts,
                          .width = config_.n_experts});
        vk::compute_to_compute(*cmd_);
    }
    const DeviceTensor& selection_bias = weights_.layers[layer].ffn_exp_probs_b;
    ops_.router(*cmd_, {.logits = w_.router_logits,
                        .ids = w_.ids,
                        .weights = w_.weights,
                        .bias = selection_bias ? std::optional<vk::BufferBinding>(selection_bias.buffer) : std::nullopt,
                        .tokens = tokens_,
                        .n_experts = config_.n_experts,
                        .top_k = config_.n_experts_used,
                        .function = config_.traits.router,
                        .renormalize = config_.traits.router_renormalize,
                        .weight_scale = config_.expert_weights_scale,
                        .expert_scale = expert_scale(weights_.layers[layer])});
    vk::compute_to_compute(*cmd_);
    if (record_routes_) {  // into the routing record, before the next layer's router overwrites them
        const std::uint64_t bytes = std::uint64_t(tokens_) * config_.n_experts_used * 4;
        vk::compute_to_transfer(*cmd_);
        const std::uint64_t at = expert_layer_index(config_, layer) * bytes;
        cmd_->copy(w_.ids, w_.route_ids, {0, at, bytes});
        cmd_->copy(w_.weights, w_.route_weights, {0, at, bytes});
        vk::transfer_to_compute(*cmd_);
    }
    written_ = read_ = 0;
}

// Llama 4: the top-1 weight scales the expert's input instead of its output, so h *= w and
// the weights become 1 (the engine, the combine and the CPU experts then need nothing new).
void GpuBlocks::weight_expert_input() {
    if (config_.n_experts_used != 1) fail("weighting the expert input needs top-1 routing");
    barrier();
    ops_.rows(*cmd_, {.x = w_.h, .b = w_.weights, .n = tokens_ * config_.n_embd, .width = config_.n_embd,
                      .op = kernels::RowOp::Scale});
    vk::compute_to_transfer(*cmd_);
    cmd_->fill(w_.weights, 0x3F800000u);  // 1.0f
    vk::transfer_to_compute(*cmd_);
    written_ = read_ = 0;
}

void GpuBlocks::experts(std::uint32_t layer) {
    barrier();
    const std::uint32_t index = expert_layer_index(config_, layer);
    if (tokens_ == 1)
        engine_.decode_layer(*this, *cmd_, index);
    else if (!rows_.empty() && !engine_.offloading())
        experts_rows(index);
    else
        engine_.prefill_layer(*this, *cmd_, index, tokens_);
    written_ = read_ = 0;  // the engine's work ends with a barrier
}

void GpuBlocks::logits(const DeviceTensor& output) {
    access({Act::H}, {});
    const bool all = !rows_.empty() || (all_logits_ && tokens_ > 1);
    if (all)
        multiply(output.matrix(), {.buffer = &w_.h}, {.buffer = &w_.logits});
    else
        mat_.matvec(*cmd_, output.matrix(), {.buffer = &w_.h, .offset = (tokens_ - 1) * config_.n_embd},
                    {.buffer = &w_.logits});
    if (const float cap = config_.final_logit_softcap; cap > 0) {
        vk::compute_to_compute(*cmd_);
        elementwise_scale(w_.logits, (all ? tokens_ : 1) * config_.n_vocab, cap, true);
    }
}

}  // namespace ferry::model
