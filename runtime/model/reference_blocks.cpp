#include "model/reference_blocks.h"

#include "base/error.h"
#include "cpu/elementwise.h"
#include "offload/cpu_experts.h"
#include "quant/quant.h"

#include <algorithm>
#include <cmath>

namespace ferry::model {

namespace {

CpuTensor map_tensor(const gguf::File& file, const gguf::TensorInfo* t) {
    CpuTensor c;
    if (!t) return c;
    if (!quant::can_dequantize(t->type))
        fail("{}: tensor {} has type {}, which ferry cannot run yet", file.name(), t->name,
             gguf::type_name(t->type));
    c.matrix.type = t->type;
    c.matrix.data = file.tensor_data(*t).data();
    c.matrix.cols = std::int64_t(t->dim(0));
    c.matrix.rows = std::int64_t(t->n_elements / t->dim(0));
    cpu::check_matrix(c.matrix);
    if (t->type == gguf::TensorType::F32)  // data offsets are 32-byte aligned
        c.values = {reinterpret_cast<const float*>(file.tensor_data(*t).data()), std::size_t(t->n_elements)};
    return c;
}

std::span<const float> values(const CpuTensor& t, const char* what) {
    if (t.values.empty()) fail("reference forward: {} must be an F32 tensor", what);
    return t.values;
}

}  // namespace

ReferenceBlocks::ReferenceBlocks(const gguf::File& file, const ModelConfig& config,
                                 const BoundTensors& tensors, const offload::ExpertLayout& experts,
                                 std::uint32_t n_ctx)
    : file_(file), config_(config), experts_(experts), n_ctx_(n_ctx) {
    weights_ = convert<CpuTensor>(tensors, [&](const gguf::TensorInfo* t) { return map_tensor(file, t); });
    const std::size_t kv_row = std::size_t(config.n_kv_heads) * config.head_dim;
    k_cache_.assign(config.n_layers, std::vector<float>(n_ctx * kv_row));
    v_cache_.assign(config.n_layers, std::vector<float>(n_ctx * kv_row));
    acts_.resize(std::size_t(Act::Resid) + 1);
    for (Act a : {Act::X, Act::H, Act::O, Act::Resid}) act(a).resize(config.n_embd);
    act(Act::Q).resize(std::size_t(config.n_heads) * config.head_dim);
    act(Act::Attn).resize(act(Act::Q).size());
    act(Act::K).resize(kv_row);
    act(Act::V).resize(kv_row);
    act(Act::G).resize(config.n_ff_shared);
    act(Act::U).resize(config.n_ff_shared);
    act(Act::Gate).resize(1);
    act(Act::DenseG).resize(config.n_ff_dense);
    act(Act::DenseU).resize(config.n_ff_dense);
    act(Act::AttnGate).resize(act(Act::Q).size());
    act(Act::Mix).resize(config.ssm_mix_width());
    act(Act::Z).resize(config.ssm_inner());
    act(Act::Ssm).resize(config.ssm_inner());
    act(Act::Beta).resize(config.ssm_v_heads);
    act(Act::Alpha).resize(config.ssm_v_heads);
    act(Act::QLora).resize(config.q_lora_rank);
    act(Act::KvLora).resize(config.kv_lora_rank + config.rope_dims);
    act(Act::Latent).resize(config.kv_lora_rank);
    act(Act::AttnV).resize(std::size_t(config.n_heads) * config.mla_value_dim);
    if (config.has_mla()) act(Act::Proj).resize(config.fused_projection_width());
    conv_state_.resize(config.n_layers);
    delta_state_.resize(config.n_layers);
    for (std::uint32_t l = 0; l < config.n_layers; ++l) {
        if (!layer_is_recurrent(config, l)) continue;
        conv_state_[l].resize(std::size_t(config.ssm_mix_width()) * (config.ssm_conv_kernel - 1));
        delta_state_[l].resize(std::size_t(config.ssm_v_heads) * config.ssm_k_dim * config.ssm_v_dim);
    }
    logits_.resize(config.n_vocab);
}

std::vector<float>& ReferenceBlocks::act(Act a) {
    return acts_[std::size_t(a)];
}

void ReferenceBlocks::begin_token(std::int32_t token, std::uint32_t position) {
    token_ = token;
    pos_ = position;
    if (position == 0)  // a new sequence: recurrent states start from zeros
        for (auto* states : {&conv_state_, &delta_state_})
            for (std::vector<float>& st : *states) std::fill(st.begin(), st.end(), 0.f);
}

// q, k, v and attn rows of layer l's shape.
void ReferenceBlocks::begin_layer(std::uint32_t l) {
    layer_ = l;
    const LayerAttention a = layer_attention(config_, l);
    for (Act qk : {Act::Q, Act::Attn}) act(qk).resize(std::size_t(config_.n_heads) * a.head_dim);
    for (Act kv : {Act::K, Act::V}) act(kv).resize(std::size_t(a.n_kv_heads) * a.head_dim);
}

void ReferenceBlocks::scale(Act a, float factor) {
    for (float& v : act(a)) v *= factor;
}

void ReferenceBlocks::scale_by(Act a, const CpuTensor& factor) {
    scale(a, values(factor, "a scale")[0]);
}

// x = token_embd[token]
void ReferenceBlocks::embed() {
    const cpu::QuantMatrix& t = weights_.token_embd.matrix;
    const std::uint64_t row = gguf::row_bytes(gguf::type_traits(t.type), std::uint64_t(t.cols));
    quant::dequantize_row(t.type, static_cast<const std::byte*>(t.data) + token_ * row, act(Act::X).data(),
                          config_.n_embd);
}

void ReferenceBlocks::rms_norm(Act in, const CpuTensor& weight, Act out) {
    std::vector<float> y(act(in).size());
    cpu::rms_norm(act(in), values(weight, "a norm weight"), config_.rms_eps, y);
    act(out) = std::move(y);
}

void ReferenceBlocks::head_norm(Act qk, const CpuTensor& weight) {
    head_rms_norm(qk, values(weight, "a head norm weight"));
}

void ReferenceBlocks::head_rms(Act qk) {
    head_rms_norm(qk, {});
}

// RMSNorm over each head's D values in place; an empty weight: none.
void ReferenceBlocks::head_rms_norm(Act qk, std::span<const float> weight) {
    const HeadShape heads = head_shape(config_, qk, layer_);
    const std::uint32_t D = heads.dim;
    std::vector<float>& v = act(qk);
    std::vector<float> tmp(D);
    for (std::uint32_t h = 0; h < heads.count; ++h) {
        const std::span<float> head(v.data() + std::size_t(h) * D, D);
        cpu::rms_norm(head, weight, config_.rms_eps, tmp);
        std::copy(tmp.begin(), tmp.end(), head.begin());
    }
}

void ReferenceBlocks::project(const CpuTensor& w, Act in, Act out) {
    std::vector<float> y(std::size_t(w.matrix.rows));
    cpu::reference_matvec(w.matrix, act(in), y);
    act(out) = std::move(y);
}

void ReferenceBlocks::head_project(const CpuTensor& w, Act in, Act out, const HeadProjection& p) {
    const cpu::QuantMatrix& m = w.matrix;
    const std::uint64_t row = gguf::row_bytes(gguf::type_traits(m.type), std::uint64_t(m.cols));
    const std::size_t n_in = p.transposed ? p.rows : std::size_t(m.cols), n_out = p.transposed ? std::size_t(m.cols) : p.rows;
    std::vector<float>& x = act(in);
    std::vector<float>& y = act(out);
    for (std::uint32_t h = 0; h < p.heads; ++h) {
        const cpu::QuantMatrix head{m.type, static_cast<const std::byte*>(m.data) + (std::uint64_t(h) * p.head_rows + p.row_offset) * row,
                                    p.rows, m.cols, 0};
        const std::size_t x0 = p.in_offset + std::size_t(h) * p.in_stride, y0 = p.out_offset + std::size_t(h) * p.out_stride;
        if (x0 + n_in > x.size() || y0 + n_out > y.size()) fail("reference forward: head {} does not fit its rows", h);
        const std::span<const float> xs(x.data() + x0, n_in);
        const std::span<float> ys(y.data() + y0, n_out);
        if (p.transposed)
            cpu::reference_matvec_transposed(head, xs, ys);
        else
            cpu::reference_matvec(head, xs, ys);
    }
}

void ReferenceBlocks::add_bias(Act a, const CpuTensor& bias) {
    cpu::add_row(act(a), values(bias, "a bias"));
}

void ReferenceBlocks::glu(Act gate, Act up) {
    std::vector<float> out(act(gate).size());
    if (config_.traits.activation == Activation::GeGLU)
        cpu::geglu(act(gate), act(up), out);
    else if (config_.traits.activation == Activation::SwiGLUOai)
        cpu::swiglu_oai(act(gate), act(up), out);
    else
        cpu::swiglu(act(gate), act(up), out);
    act(gate) = std::move(out);
}

void ReferenceBlocks::sigmoid_gate(Act a, Act gate) {
    cpu::sigmoid_gate(act(a), act(gate));  // per token (one gate) or elementwise
}

void ReferenceBlocks::gather(Act in, Act out, const Split& s) {
    const std::vector<float>& x = act(in);
    std::vector<float>& y = act(out);
    const std::size_t out_stride = s.out_group_stride ? s.out_group_stride : s.len;
    if (x.size() != s.in_width || s.out_offset + (s.groups - 1) * out_stride + s.len > y.size())
        fail("reference forward: a split of {} floats does not fit", x.size());
    for (std::uint32_t g = 0; g < s.groups; ++g)
        std::copy_n(x.begin() + s.in_offset + std::ptrdiff_t(g) * s.in_group_stride, s.len,
                    y.begin() + s.out_offset + std::ptrdiff_t(g * out_stride));
}

void ReferenceBlocks::conv(std::uint32_t layer) {
    cpu::ssm_conv(act(Act::Mix), 1, config_.ssm_mix_width(),
                  values(weights_.layers[layer].ssm_conv1d, "ssm_conv1d"), config_.ssm_conv_kernel,
                  conv_state_[layer]);
}

void ReferenceBlocks::delta_net(std::uint32_t layer) {
    const LayerTensors<CpuTensor>& w = weights_.layers[layer];
    cpu::delta_rule_step(act(Act::Mix), act(Act::Beta), act(Act::Alpha), values(w.ssm_dt_bias, "ssm_dt.bias"),
                         values(w.ssm_a, "ssm_a"), delta_net_shape(config_), delta_state_[layer], act(Act::Ssm));
}

void ReferenceBlocks::rope(Act qk) {
    cpu::RopeParams params = rope_params(config_, layer_);
    if (weights_.rope_freqs && layer_attention(config_, layer_).rope_freqs)
        params.freq_factors = values(weights_.rope_freqs, "rope_freqs");
    const HeadShape heads = head_shape(config_, qk, layer_);
    cpu::rope(act(qk), int(heads.count), int(heads.dim), int(pos_), params);
}

void ReferenceBlocks::attend(std::uint32_t layer) {
    const std::vector<float>& k = act(Act::K);
    const std::vector<float>& v = act(config_.has_mla() ? Act::K : Act::V);  // MLA: the row is key and value
    std::copy(k.begin(), k.end(), k_cache_[layer].begin() + std::ptrdiff_t(pos_ * k.size()));
    std::copy(v.begin(), v.end(), v_cache_[layer].begin() + std::ptrdiff_t(pos_ * v.size()));
    cpu::AttentionParams params = attention_params(config_, layer);
    if (const CpuTensor& sinks = weights_.layers[layer].attn_sinks) params.sinks = values(sinks, "attn_sinks");
    if (!config_.has_mla()) act(Act::Attn).resize(std::size_t(params.n_heads) * params.head_dim);
    cpu::attention(act(Act::Q), k_cache_[layer], v_cache_[layer], int(pos_), params, act(Act::Attn));
}

void ReferenceBlocks::add(Act to, Act delta) {
    std::vector<float>& x = act(to);
    const std::vector<float>& d = act(delta);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += d[i];
}

void ReferenceBlocks::route(std::uint32_t layer, const CpuTensor& router) {
    std::vector<float> router_logits(config_.n_experts);
    cpu::reference_matvec(router.matrix, act(Act::H), router_logits);
    if (const CpuTensor& bias = weights_.layers[layer].ffn_gate_inp_bias)
        cpu::add_row(router_logits, values(bias, "ffn_gate_inp.bias"));
    cpu::RouterParams rp;
    rp.function = config_.traits.router;
    rp.top_k = int(config_.n_experts_used);
    rp.renormalize = config_.traits.router_renormalize;
    if (const CpuTensor& bias = weights_.layers[layer].ffn_exp_probs_b) rp.bias = values(bias, "exp_probs_b");
    rp.weight_scale = config_.expert_weights_scale;
    if (const CpuTensor& s = weights_.layers[layer].ffn_down_exps_scale) rp.expert_scale = values(s, "ffn_down_exps.scale");
    choice_ = cpu::route(router_logits, rp);
    if (observer_) observer_(expert_layer_index(config_, layer), pos_, choice_);  // the engine's layer, as the GPU's
}

// x += Σ_{e in top-k} w_e · (W_down[e] · act(W_gate[e] h + b_gate[e], W_up[e] h + b_up[e]) + b_down[e]),
// the biases where the layer has them
void ReferenceBlocks::weight_expert_input() {
    if (choice_.weights.size() != 1) fail("weighting the expert input needs top-1 routing");
    for (float& v : act(Act::H)) v *= choice_.weights[0];
    choice_.weights[0] = 1.f;
}

void ReferenceBlocks::experts(std::uint32_t layer) {
    const offload::ExpertLayer& L = experts_.layers[expert_layer_index(config_, layer)];
    const std::uint32_t F = L.n_ff, E = config_.n_embd;
    std::vector<float> gate(F), up(F), a(F), down(E);
    for (std::size_t i = 0; i < choice_.experts.size(); ++i) {
        const auto e = std::uint32_t(choice_.experts[i]);
        const offload::ExpertFfnMatrices m = offload::expert_ffn_matrices(file_, L, e, E);
        cpu::reference_matvec(m.gate, act(Act::H), gate);
        cpu::reference_matvec(m.up, act(Act::H), up);
        if (L.biases) {
            cpu::add_row(gate, {L.biases.gate + std::size_t(e) * F, F});
            cpu::add_row(up, {L.biases.up + std::size_t(e) * F, F});
        }
        offload::expert_activation(experts_.activation, gate, up, a);
        cpu::reference_matvec(m.down, a, down);
        if (L.biases) cpu::add_row(down, {L.biases.down + std::size_t(e) * E, E});
        cpu::axpy(choice_.weights[i], down, act(Act::X));
    }
}

void ReferenceBlocks::logits(const CpuTensor& output) {
    cpu::reference_matvec(output.matrix, act(Act::H), logits_);
    if (config_.final_logit_softcap > 0) cpu::softcap(logits_, config_.final_logit_softcap, logits_);
}

}  // namespace ferry::model
