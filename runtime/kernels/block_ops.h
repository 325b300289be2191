#pragma once
// The transformer-block operations on the GPU, everything but the matrix products:
// RMSNorm, RoPE, the F16 KV cache (append + attention), GLUs, embedding rows, the MoE
// router, the weighted sum of expert outputs, top-k/argmax over logits, and the
// linear-attention (gated DeltaNet) conv and delta rule. Each call
// records dispatches into a command buffer; the shaders are shaders/<op>.comp and their
// CPU references are in cpu/reference_ops.h.
//
// All activations are F32, row-major, sizes in elements. Ordering: a call that issues more
// than one dispatch (attention with splits, top-k) orders its own dispatches; between
// calls the caller records vk::compute_to_compute when one reads what another wrote.
// Arithmetic is F32 everywhere (no fp16 math), so no op needs shaderFloat16; the KV cache
// is F16 in memory, stored through 16-bit storage where the device has
// storageBuffer16BitAccess and through packed uint words otherwise (same bytes).
//
//   kernels::BlockOps ops(device);
//   ops.rms_norm(cmd, {.x = x, .weight = norm, .y = h, .n = 2048, .rows = 1, .eps = 1e-6f});
#include "cpu/delta_net.h"
#include "cpu/reference_ops.h"
#include "gguf/types.h"
#include "kernels/pipeline_set.h"
#include "vk/command.h"

#include <cstdint>
#include <optional>

namespace ferry::kernels {

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight for r < rows. Per-token norms: rows =
// tokens, n = n_embd. Qwen3's per-head q_norm/k_norm: rows = tokens * heads, n = head_dim
// (x = y = q, in place).
struct RmsNormArgs {
    vk::BufferBinding x;       // F32 [rows, x_stride]
    vk::BufferBinding weight;  // F32 [n]
    vk::BufferBinding y;       // F32 [rows, y_stride]; may be x
    std::uint32_t n = 0;
    std::uint32_t rows = 1;
    float eps = 1e-6f;
    std::uint32_t x_stride = 0;  // 0: n
    std::uint32_t y_stride = 0;  // 0: n
    bool unweighted = false;     // y = x / rms (weight not read): Llama 4's q/k norm
};

// In place: x holds n_heads heads of head_dim per token; token t is rotated by
// positions[t] (a prefill batch in one call). params as cpu::rope (style, rot_dims,
// freq_base, freq_scale).
struct RopeArgs {
    vk::BufferBinding x;          // F32 [tokens, token_stride]
    vk::BufferBinding positions;  // int32 [tokens]
    std::uint32_t tokens = 1;
    std::uint32_t n_heads = 0;
    std::uint32_t head_dim = 0;
    cpu::RopeParams params{};        // params.freq_factors is not read: the GPU's are freq_factors
    std::uint32_t token_stride = 0;  // 0: n_heads * head_dim
    std::optional<vk::BufferBinding> freq_factors = std::nullopt;  // F32 [rot_dims / 2] (rope_freqs)
};

// Writes tokens' K (already rotated) and V rows, F32, into the F16 caches at positions[t].
struct KvAppendArgs {
    vk::BufferBinding k;          // F32 [tokens, k_stride]
    vk::BufferBinding v;          // F32 [tokens, v_stride]
    vk::BufferBinding positions;  // int32 [tokens], each < n_ctx
    vk::BufferBinding k_cache;    // F16 [n_ctx, n_kv_heads, head_dim]
    vk::BufferBinding v_cache;    // F16 [n_ctx, n_kv_heads, head_dim]
    std::uint32_t tokens = 1;
    std::uint32_t n_kv_heads = 0;
    std::uint32_t head_dim = 0;  // a multiple of 4
    std::uint32_t n_ctx = 0;
    std::uint32_t k_stride = 0;  // 0: n_kv_heads * head_dim
    std::uint32_t v_stride = 0;
    // > 0: the caches are a ring of cache_rows positions, position p in row p % cache_rows
    // (a sliding-window layer's); the tokens of one call must fall in distinct rows. 0: n_ctx rows.
    std::uint32_t cache_rows = 0;
};

// Bytes of one F16 cache (K or V) for n_ctx positions.
std::uint64_t kv_cache_bytes(std::uint32_t n_ctx, std::uint32_t n_kv_heads, std::uint32_t head_dim);

// Causal attention of `tokens` query tokens (token t at positions[t]) over the keys
// [0, kv_len) of the F16 caches; grouped-query heads, optional sliding window and
// soft-capping from params (as cpu::attention; params.scale is used as given). The keys
// are processed in splits with an online softmax; splits are merged through `scratch`.
struct AttentionArgs {
    vk::BufferBinding q;          // F32 [tokens, q_stride]; head h at h * head_dim
    vk::BufferBinding positions;  // int32 [tokens], each < kv_len
    vk::BufferBinding k_cache;    // F16 [n_ctx, n_kv_heads, head_dim], n_ctx >= kv_len
    vk::BufferBinding v_cache;
    vk::BufferBinding out;      // F32 [tokens, n_heads, head_dim]
    vk::BufferBinding scratch;  // attention_scratch_bytes(params) bytes
    std::uint32_t tokens = 1;
    std::uint32_t kv_len = 0;  // keys in the cache: n_past + tokens
    cpu::AttentionParams params{};  // params.sinks is not read: the GPU's are `sinks`
    std::uint32_t q_stride = 0;     // 0: n_heads * head_dim
    std::optional<vk::BufferBinding> sinks = std::nullopt;  // F32 [n_heads]: attention sinks
    // > 0: the caches are rings of cache_rows positions (KvAppendArgs); every key a query
    // sees (its window) must still be there: window + tokens - 1 <= cache_rows. 0: kv_len rows.
    std::uint32_t cache_rows = 0;
};

// How attention() cuts the work (chosen from the shape and the device).
struct AttentionPlan {
    std::uint32_t local_size = 0;        // threads per workgroup = keys per chunk
    std::uint32_t heads_per_group = 0;   // query heads sharing one KV head in a workgroup
    std::uint32_t tokens_per_group = 0;  // query tokens per workgroup
    std::uint32_t n_splits = 1;          // > 1: partial results merged by attention_combine
    std::uint32_t split_len = 0;         // keys per split (a multiple of local_size)
};

// Top-k (k >= 1) of each row of values: the k largest, descending, ties to the lower
// index (argmax: k = 1). Passes through `scratch`, each keeping k per chunk of
// max(4096, 8k) candidates (151936 logits: 2 passes for k <= 107, 3 for k = 256).
struct TopKArgs {
    vk::BufferBinding values;      // F32 [rows, n]
    vk::BufferBinding out_values;  // F32 [rows, k]
    vk::BufferBinding out_ids;     // int32 [rows, k]
    vk::BufferBinding scratch;     // topk_scratch_bytes(rows, n, k) bytes
    std::uint32_t rows = 1;
    std::uint32_t n = 0;
    std::uint32_t k = 1;
};
std::uint64_t topk_scratch_bytes(std::uint32_t rows, std::uint32_t n, std::uint32_t k);

enum class Glu { SwiGLU, GeGLU, SwiGLUOai };

// Per-route expert biases of gate and up (gpt-oss): gate/up are rows of `width` floats,
// row r belonging to route r, whose expert is ids[r]; its bias rows are added first.
struct GluRouteBias {
    vk::BufferBinding ids;        // int32 [n / width]
    vk::BufferBinding bias_gate;  // F32 [n_experts, width]
    vk::BufferBinding bias_up;    // F32 [n_experts, width]
    std::uint32_t width = 0;
    std::uint32_t n_experts = 0;
};

// out[i] = act(gate[i]) * up[i], i < n (act: silu, tanh-gelu or gpt-oss's clamped
// SwiGLU, as cpu::swiglu / geglu / swiglu_oai).
struct GluArgs {
    vk::BufferBinding gate;  // F32 [n]
    vk::BufferBinding up;    // F32 [n]
    vk::BufferBinding out;   // F32 [n]; may be gate or up
    std::uint32_t n = 0;
    Glu kind = Glu::SwiGLU;
    std::optional<GluRouteBias> bias = std::nullopt;
};

enum class RowOp { Add, SigmoidGate, Scale };

// In place on x [n / width, width], as cpu::add_row / cpu::sigmoid_gate: Add x[r, i] +=
// b[i] (a bias, b [width]); SigmoidGate x[r, i] *= sigmoid(b[r]) (a gate, b [n / width]);
// Scale x[r, i] *= b[r] (b [n / width]).
struct RowArgs {
    vk::BufferBinding x;  // F32 [n]
    vk::BufferBinding b;  // F32 [width] or [n / width]
    std::uint32_t n = 0;
    std::uint32_t width = 0;
    RowOp op = RowOp::Add;
};

// out[t] = row ids[t] of a [n_rows, n_cols] table of any dequantizable type, as F32.
struct EmbedArgs {
    vk::BufferBinding table;  // the tensor's bytes as GGUF stores them
    vk::BufferBinding ids;    // int32 [tokens]; ids outside [0, n_rows) give zeros
    vk::BufferBinding out;    // F32 [tokens, n_cols]
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t n_rows = 0;
    std::uint32_t n_cols = 0;  // a multiple of the type's block size
    std::uint32_t tokens = 1;
};

// Router: logits -> top_k expert ids + weights per token, as cpu::route (same ids, ties to
// the lower id; weights in F32).
struct RouterArgs {
    vk::BufferBinding logits;               // F32 [tokens, n_experts]
    vk::BufferBinding ids;                  // int32 [tokens, top_k], best first
    vk::BufferBinding weights;              // F32 [tokens, top_k]
    std::optional<vk::BufferBinding> bias;  // F32 [n_experts], for selection only
    std::uint32_t tokens = 1;
    std::uint32_t n_experts = 0;  // <= kRouterMaxExperts
    std::uint32_t top_k = 0;      // <= kRouterMaxK
    cpu::RouterFunction function = cpu::RouterFunction::SoftmaxThenTopK;
    bool renormalize = false;
    float weight_scale = 1.f;
    std::optional<vk::BufferBinding> expert_scale = std::nullopt;  // F32 [n_experts]: weights *= it per chosen expert
};

// x[t] = (accumulate ? x[t] : 0) + sum_k weights[t, k] * expert_out[t, k], experts added
// in k order. The forward pass adds straight into the residual (accumulate = true), which
// saves a pass over x and a buffer; a shared expert is one more k with its own weight.
struct MoeCombineArgs {
    vk::BufferBinding x;           // F32 [tokens, n]
    vk::BufferBinding expert_out;  // F32 [tokens, top_k, n]
    vk::BufferBinding weights;     // F32 [tokens, top_k] (the router's output)
    std::uint32_t tokens = 1;
    std::uint32_t n = 0;
    std::uint32_t top_k = 0;
    bool accumulate = true;
    // Per-expert output biases (gpt-oss's down bias): expert_out[t, k] + bias[ids[t, k]].
    std::optional<vk::BufferBinding> ids = std::nullopt;   // int32 [tokens, top_k]
    std::optional<vk::BufferBinding> bias = std::nullopt;  // F32 [n_experts, n]
    std::uint32_t n_experts = 0;                           // rows of bias
};

// Linear attention (gated DeltaNet). The causal conv1d + SiLU in place over a batch of
// tokens with its rolling state, as cpu::ssm_conv; `fresh`: the sequence starts here (the
// state is read as zeros, whatever it holds).
struct SsmConvArgs {
    vk::BufferBinding x;       // F32 [tokens, x_stride], channels at 0..channels
    vk::BufferBinding weight;  // F32 [channels, kernel]
    vk::BufferBinding state;   // F32 [channels, kernel - 1]
    std::uint32_t tokens = 1;
    std::uint32_t channels = 0;
    std::uint32_t kernel = 0;  // <= kSsmMaxKernel
    std::uint32_t x_stride = 0;  // 0: channels
    bool fresh = false;
};

// The gated delta rule over a batch of tokens in order, as cpu::delta_rule_step per
// token (L2 norms of q/k, decay, delta update, read-out); `fresh` as in SsmConvArgs.
struct DeltaNetArgs {
    vk::BufferBinding mix;      // F32 [tokens, mix_stride]: q | k | v as shape.mix_width()
    vk::BufferBinding beta;     // F32 [tokens, v_heads]: logits
    vk::BufferBinding alpha;    // F32 [tokens, v_heads]: logits
    vk::BufferBinding dt_bias;  // F32 [v_heads]
    vk::BufferBinding a;        // F32 [v_heads]
    vk::BufferBinding state;    // F32 [v_heads, k_dim, v_dim]
    vk::BufferBinding out;      // F32 [tokens, v_heads * v_dim]
    std::uint32_t tokens = 1;
    cpu::DeltaNetShape shape{};  // k_dim <= kDeltaMaxKDim
    std::uint32_t mix_stride = 0;  // 0: shape.mix_width()
    bool fresh = false;
};

// out[t, out_offset + g * out_group_stride + i] = in[t, in_offset + g * in_group_stride + i]
// for g < groups, i < len (shaders/gather.comp): splitting a fused projection, or
// interleaving heads. out_group_stride 0: len (packed).
struct GatherArgs {
    vk::BufferBinding in;   // F32 [tokens, in_stride]
    vk::BufferBinding out;  // F32 [tokens, out_stride]
    std::uint32_t tokens = 1;
    std::uint32_t groups = 1;
    std::uint32_t len = 0;
    std::uint32_t in_stride = 0;
    std::uint32_t in_offset = 0;
    std::uint32_t in_group_stride = 0;
    std::uint32_t out_stride = 0;
    std::uint32_t out_offset = 0;
    std::uint32_t out_group_stride = 0;
};

// Workgroup sizes (powers of two); 0 picks per device. Shaders with workgroup barriers
// (reductions, attention, router, top-k) get 256 / 128 / 64 on GPUs and the subgroup size
// on CPU drivers, where every barrier switches between coroutines (lavapipe runs a
// workgroup as subgroup-wide SIMD fibers); barrier-free ones get 256 everywhere.
struct BlockOpsOptions {
    std::uint32_t elementwise_workgroup = 0;  // rope, kv_append, glu, rows, moe_combine, embed
    std::uint32_t reduction_workgroup = 0;    // rms_norm over n_embd rows, top-k
    std::uint32_t attention_workgroup = 0;    // attention: also the keys per chunk
    std::uint32_t router_workgroup = 0;       // router, rms_norm over head rows, combine
    std::uint64_t max_binding_bytes = 0;      // below the device's storage binding limit (tests)
};

class BlockOps {
public:
    explicit BlockOps(vk::Device& device, const BlockOpsOptions& options = {});

    void rms_norm(vk::CommandBuffer& cmd, const RmsNormArgs& a);
    void rope(vk::CommandBuffer& cmd, const RopeArgs& a);
    void kv_append(vk::CommandBuffer& cmd, const KvAppendArgs& a);
    void attention(vk::CommandBuffer& cmd, const AttentionArgs& a);
    void glu(vk::CommandBuffer& cmd, const GluArgs& a);
    void rows(vk::CommandBuffer& cmd, const RowArgs& a);
    void embed(vk::CommandBuffer& cmd, const EmbedArgs& a);
    void router(vk::CommandBuffer& cmd, const RouterArgs& a);
    void moe_combine(vk::CommandBuffer& cmd, const MoeCombineArgs& a);
    void top_k(vk::CommandBuffer& cmd, const TopKArgs& a);
    void ssm_conv(vk::CommandBuffer& cmd, const SsmConvArgs& a);
    void delta_net(vk::CommandBuffer& cmd, const DeltaNetArgs& a);
    void gather(vk::CommandBuffer& cmd, const GatherArgs& a);

    AttentionPlan plan_attention(std::uint32_t tokens, std::uint32_t kv_len,
                                 const cpu::AttentionParams& p) const;
    // Scratch attention() needs for any tokens and kv_len with these params.
    static std::uint64_t attention_scratch_bytes(const cpu::AttentionParams& p);

    // True when the KV cache goes through 16-bit storage (the *_f16 variants); false:
    // packed uint words (the fallback every device runs).
    bool kv_f16_storage() const { return kv_f16_; }
    vk::Device& device() const { return pipelines_.device(); }
    PipelineSet& pipelines() { return pipelines_; }

private:
    PipelineSet pipelines_;
    bool kv_f16_;
    std::uint32_t wg_ = 256;            // barrier-free ops
    std::uint32_t wg_rows_ = 256;       // reductions over long rows, top-k
    std::uint32_t wg_small_rows_ = 64;  // router, rows of at most 256, attention combine
    std::uint32_t wg_attention_ = 128;
    std::uint64_t max_binding_bytes_ = 0;  // 0: the device's limit
};

}  // namespace ferry::kernels
