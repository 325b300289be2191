#pragma once
// The dense weights a recipe reads, by GGUF name, in one struct per layer whatever the
// backend: `T` is `const gguf::TensorInfo*` when a recipe binds a file's tensors
// (recipe.h), DeviceTensor on the GPU (gpu_weights.h), CpuTensor in the CPU reference.
// A field the family does not have stays empty (value-initialised: null, or no buffer). Routed experts are
// not here: the expert engine (offload/) holds them.
#include <cstdint>
#include <vector>

namespace ferry::model {

// E = n_embd, Hq / Hkv = query / KV heads, D = head size, X = experts, S = shared
// expert width; linear attention: Hk / Hv = q/k and v heads of Dk / Dv, C = 2·Hk·Dk + Hv·Dv
// (the conv's channels), K = conv taps.
template <class T>
struct LayerTensors {
    T attn_norm{};                                  // [E]
    T attn_q{}, attn_k{}, attn_v{};                 // [E, Hq·D], [E, Hkv·D], [E, Hkv·D]
    T attn_q_bias{}, attn_k_bias{}, attn_v_bias{};  // [Hq·D], [Hkv·D], [Hkv·D] (Qwen2-MoE)
    T attn_q_norm{}, attn_k_norm{};                 // [D]: RMSNorm weight of every q / k head
    T attn_output{};                                // [Hq·D, E]
    T attn_output_bias{};                           // [E] (gpt-oss)
    T attn_sinks{};                                 // [Hq]: a softmax sink logit per head (gpt-oss)
    // Gated attention (Qwen3.5, Qwen3-Next): attn_q is [E, 2·Hq·D], per head [q D | gate D].
    // Linear attention (gated DeltaNet), Qwen3.5's split projections:
    T attn_qkv{};              // [E, C]: q | k | v, the conv's input
    T attn_gate{};             // [E, Hv·Dv]: z, the output gate
    T ssm_beta{}, ssm_alpha{};  // [E, Hv]
    // ... or Qwen3-Next's fused ones:
    T ssm_in{};  // [E, C + Hv·Dv]: per q/k head group [q Dk | k Dk | v r·Dv | z r·Dv], r = Hv / Hk
    T ssm_ba{};  // [E, 2·Hv]: per group [β r | α r]
    T ssm_conv1d{};   // [K, C] F32: per channel its K taps, oldest first
    T ssm_dt_bias{};  // [Hv] F32
    T ssm_a{};        // [Hv] F32: −exp(A_log)
    T ssm_norm{};     // [Dv]: RMSNorm weight of each v head's output
    T ssm_out{};      // [Hv·Dv, E]
    // Multi-head latent attention (DeepSeek-V2), Dn / Dr / Dv the heads' nope, rope and
    // value sizes, C = kv_lora_rank, Lq = q_lora_rank; attn_q is [E, Hq·(Dn+Dr)] without Lq.
    T attn_q_a{}, attn_q_a_norm{}, attn_q_b{};  // [E, Lq], [Lq], [Lq, Hq·(Dn+Dr)]
    T attn_kv_a_mqa{}, attn_kv_a_norm{};        // [E, C + Dr], [C]
    T attn_kv_b{};                              // [C, Hq·(Dn+Dv)]: per head Dn key rows, then Dv value rows
    T attn_k_b{}, attn_v_b{};                   // [Dn, C, Hq], [C, Dv, Hq]: the same, split (newer files)
    T ffn_exp_probs_b{};                        // [X]: added to the router's probabilities for selection only
    T ffn_norm{};                        // [E]: the MoE's (or dense FFN's) input norm, and the lookahead's
    T ffn_gate{}, ffn_up{}, ffn_down{};  // [E, Fd], [E, Fd], [Fd, E]: a dense FFN layer (Llama 4)
    T ffn_gate_inp{};                    // [E, X]: the router
    T ffn_gate_inp_bias{};               // [X]: added to the router's logits (gpt-oss)
    // Biases of the routed experts, resident (small): [F, X], [F, X], [E, X] (gpt-oss).
    T ffn_gate_exps_bias{}, ffn_up_exps_bias{}, ffn_down_exps_bias{};
    T ffn_gate_shexp{}, ffn_up_shexp{};  // [E, S]: the shared expert (Qwen2-MoE)
    T ffn_down_shexp{};                  // [S, E]
    T ffn_gate_inp_shexp{};              // [E]: its sigmoid gate, one logit per token
    // Gemma 4's extra norms and scales, all F32: after attention (post_attention_norm), after
    // the dense MLP (post_ffw_norm_1), before and after the experts (pre_ffw_norm_2,
    // post_ffw_norm_2), after their sum (post_ffw_norm); the router input's per-channel
    // scale; each expert's output scale; the layer output's scalar.
    T attn_post_norm{};                                    // [E]
    T ffn_post_norm_1{}, ffn_pre_norm_2{}, ffn_post_norm_2{};  // [E]
    T ffn_post_norm{};                                     // [E]
    T ffn_gate_inp_scale{};                                // [E]
    T ffn_down_exps_scale{};                               // [X]
    T layer_output_scale{};                                // [1]
};

template <class T>
struct ModelTensors {
    T token_embd{};   // [E, V]
    T output_norm{};  // [E]
    T output{};       // [E, V]: token_embd again where the file ties them
    T rope_freqs{};   // [rot / 2]: per-pair frequency divisors (Llama 3/4 rope scaling)
    std::vector<LayerTensors<T>> layers;
};

// Calls f(a.field, b.field) for every field of two LayerTensors (a backend converting a
// recipe's bound tensors into its own). The one list of the fields.
template <class A, class B, class F>
void zip_fields(LayerTensors<A>& a, const LayerTensors<B>& b, F&& f) {
    f(a.attn_norm, b.attn_norm);
    f(a.attn_q, b.attn_q);
    f(a.attn_k, b.attn_k);
    f(a.attn_v, b.attn_v);
    f(a.attn_q_bias, b.attn_q_bias);
    f(a.attn_k_bias, b.attn_k_bias);
    f(a.attn_v_bias, b.attn_v_bias);
    f(a.attn_q_norm, b.attn_q_norm);
    f(a.attn_k_norm, b.attn_k_norm);
    f(a.attn_output, b.attn_output);
    f(a.attn_output_bias, b.attn_output_bias);
    f(a.attn_sinks, b.attn_sinks);
    f(a.attn_qkv, b.attn_qkv);
    f(a.attn_gate, b.attn_gate);
    f(a.ssm_beta, b.ssm_beta);
    f(a.ssm_alpha, b.ssm_alpha);
    f(a.ssm_in, b.ssm_in);
    f(a.ssm_ba, b.ssm_ba);
    f(a.ssm_conv1d, b.ssm_conv1d);
    f(a.ssm_dt_bias, b.ssm_dt_bias);
    f(a.ssm_a, b.ssm_a);
    f(a.ssm_norm, b.ssm_norm);
    f(a.ssm_out, b.ssm_out);
    f(a.attn_q_a, b.attn_q_a);
    f(a.attn_q_a_norm, b.attn_q_a_norm);
    f(a.attn_q_b, b.attn_q_b);
    f(a.attn_kv_a_mqa, b.attn_kv_a_mqa);
    f(a.attn_kv_a_norm, b.attn_kv_a_norm);
    f(a.attn_kv_b, b.attn_kv_b);
    f(a.attn_k_b, b.attn_k_b);
    f(a.attn_v_b, b.attn_v_b);
    f(a.ffn_exp_probs_b, b.ffn_exp_probs_b);
    f(a.ffn_norm, b.ffn_norm);
    f(a.ffn_gate, b.ffn_gate);
    f(a.ffn_up, b.ffn_up);
    f(a.ffn_down, b.ffn_down);
    f(a.ffn_gate_inp, b.ffn_gate_inp);
    f(a.ffn_gate_inp_bias, b.ffn_gate_inp_bias);
    f(a.ffn_gate_exps_bias, b.ffn_gate_exps_bias);
    f(a.ffn_up_exps_bias, b.ffn_up_exps_bias);
    f(a.ffn_down_exps_bias, b.ffn_down_exps_bias);
    f(a.ffn_gate_shexp, b.ffn_gate_shexp);
    f(a.ffn_up_shexp, b.ffn_up_shexp);
    f(a.ffn_down_shexp, b.ffn_down_shexp);
    f(a.ffn_gate_inp_shexp, b.ffn_gate_inp_shexp);
    f(a.attn_post_norm, b.attn_post_norm);
    f(a.ffn_post_norm_1, b.ffn_post_norm_1);
    f(a.ffn_pre_norm_2, b.ffn_pre_norm_2);
    f(a.ffn_post_norm_2, b.ffn_post_norm_2);
    f(a.ffn_post_norm, b.ffn_post_norm);
    f(a.ffn_gate_inp_scale, b.ffn_gate_inp_scale);
    f(a.ffn_down_exps_scale, b.ffn_down_exps_scale);
    f(a.layer_output_scale, b.layer_output_scale);
}

template <class A, class B, class F>
ModelTensors<A> convert(const ModelTensors<B>& in, F&& f) {
    ModelTensors<A> out;
    out.token_embd = f(in.token_embd);
    out.output_norm = f(in.output_norm);
    out.output = f(in.output);
    out.rope_freqs = f(in.rope_freqs);
    for (const LayerTensors<B>& l : in.layers) {
        LayerTensors<A> o;
        zip_fields(o, l, [&](A& dst, const B& src) { dst = f(src); });
        out.layers.push_back(std::move(o));
    }
    return out;
}

}  // namespace ferry::model
