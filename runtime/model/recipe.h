#pragma once
// A model family is a table row (architecture.h: the per-family choices, hyper-parameters
// from GGUF keys in config.h) and a recipe (families/<family>.cpp): which tensors the
// model has, where its routed experts are, and its forward pass as one template over the
// blocks of a backend — GpuBlocks (Vulkan, gpu_blocks.h) or ReferenceBlocks (the CPU
// reference, reference_blocks.h). Both backends offer the same calls, so one recipe text
// is both the GPU forward pass and its oracle. runtime/model/README.md says how to add one.
#include "gguf/reader.h"
#include "model/config.h"
#include "model/layer_tensors.h"
#include "offload/expert_layout.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::model {

class GpuBlocks;
class ReferenceBlocks;

using BoundTensors = ModelTensors<const gguf::TensorInfo*>;

// The activations a recipe names (rows of one token each; the backend holds a batch).
enum class Act : std::uint8_t {
    X,     // [E] the residual stream
    H,     // [E] a normed copy of x: a block's input
    O,     // [E] a block's output, before it is added to x
    Q,     // [Hq·D]
    K,     // [Hkv·D]
    V,     // [Hkv·D]
    Attn,  // [Hq·D] attention heads, before the output projection
    G,     // [S] a dense FFN's gate, then act(gate) ⊙ up (the shared expert)
    U,     // [S] a dense FFN's up
    Gate,  // [1] a per-token scalar: a gate's logit
    DenseG,  // [Fd] a dense FFN layer's gate, then act(gate) ⊙ up (Llama 4); G's buffer
    DenseU,  // [Fd] its up; U's buffer
    // Gated attention and linear attention (Qwen3.5, Qwen3-Next); Hk / Hv, Dk / Dv as layer_tensors.h.
    Proj,      // a fused projection before its split: [2·Hq·D], [C + Hv·Dv] or [2·Hv]
    AttnGate,  // [Hq·D] the attention's output gate (logits)
    Mix,       // [C] = q | k | v of the linear attention: the conv's input, then its output
    Z,         // [Hv·Dv] its output gate, then SiLU(z) ⊙ RMSNorm(o)
    Beta,      // [Hv] its β logits
    Alpha,     // [Hv] its decay logits
    Ssm,       // [Hv·Dv] the delta rule's output heads
    // Multi-head latent attention (DeepSeek-V2), sizes as config.h: Hq heads of Dn + Dr
    // (nope | rope) in Proj, Dr = rope_dims, C = kv_lora_rank.
    QLora,   // [q_lora_rank] the query's low-rank latent
    KvLora,  // [C + Dr] the kv_a projection: latent c | the shared rope key
    Latent,  // [C] c, normed
    AttnV,   // [Hq·Dv] the value heads, up-projected from the attention's latent outputs
    Resid,   // [E] the residual stream kept aside (Gemma 4: while x sums the experts)
};

// Per-head products (GpuBlocks / ReferenceBlocks::head_project): for h < heads,
// out[out_offset + h·out_stride ..] = W_h · in[in_offset + h·in_stride ..], W_h the `rows`
// rows of w from h·head_rows + row_offset on (its cols inputs, rows outputs); transposed,
// W_hᵀ instead (rows inputs, cols outputs).
struct HeadProjection {
    std::uint32_t heads = 0;
    std::uint32_t head_rows = 0;
    std::uint32_t row_offset = 0;
    std::uint32_t rows = 0;
    bool transposed = false;
    std::uint32_t in_offset = 0, in_stride = 0;
    std::uint32_t out_offset = 0, out_stride = 0;
};

// Column blocks of each token's row of one activation copied into another (GpuBlocks /
// ReferenceBlocks::gather): out[out_offset + g·out_group_stride + i] = in[in_offset + g·in_group_stride + i],
// g < groups, i < len; `in_width`: floats per token of `in` as it was written.
struct Split {
    std::uint32_t in_width = 0;
    std::uint32_t groups = 1;
    std::uint32_t len = 0;
    std::uint32_t in_offset = 0;
    std::uint32_t in_group_stride = 0;
    std::uint32_t out_offset = 0;
    std::uint32_t out_group_stride = 0;  // 0: len (the groups packed)
};

// The heads an activation holds, for the per-head norms: Q, K and V (layer `layer`'s
// attention heads, layer_attention()) and Ssm (the delta rule's v heads).
struct HeadShape {
    std::uint32_t count = 0, dim = 0;
};
HeadShape head_shape(const ModelConfig& config, Act a, std::uint32_t layer);

// Finds a file's tensors for a recipe and checks their shapes (ggml order); every failure
// names the file, the tensor and the shape it should have.
class TensorTable {
public:
    explicit TensorTable(const gguf::File& file) : file_(file) {}
    const gguf::TensorInfo* require(const std::string& name, std::vector<std::uint64_t> shape) const;
    // Null when the file has no such tensor; checked when it has.
    const gguf::TensorInfo* optional(const std::string& name, std::vector<std::uint64_t> shape) const;
    const gguf::File& file() const { return file_; }

private:
    const gguf::File& file_;
};

struct Recipe {
    std::string_view architecture;  // general.architecture
    // The dense tensors the forward pass reads, found and checked.
    BoundTensors (*tensors)(const TensorTable& table, const ModelConfig& config);
    // The routed experts as byte ranges for the expert engine.
    offload::ExpertLayout (*experts)(const gguf::File& file, const ModelConfig& config);
    // The forward pass of the tokens the blocks hold, embed to logits.
    void (*gpu_forward)(GpuBlocks& blocks);
    void (*reference_forward)(ReferenceBlocks& blocks);
};

// What recipes share: the embedding and output head (tied where the file has no
// output.weight), and the routed experts as ffn_{gate,up,down}_exps [E, F, X] / [F, E, X]
// or one 2-D tensor per expert.
void bind_embeddings(const TensorTable& table, const ModelConfig& config, BoundTensors& w);
// A layer's attention: attn_norm, attn_{q,k,v,output}; with `bias` attn_{q,k,v}.bias, with
// `qk_norm` attn_{q,k}_norm (per head).
struct AttentionTensors {
    bool bias = false;
    bool qk_norm = false;        // RMSNorm over each head (weights [head_dim])
    bool qk_norm_whole = false;  // RMSNorm over all of q, all of k (weights [H*D], [Hkv*D]): OLMoE
};
void bind_attention(const TensorTable& table, const ModelConfig& config, std::uint32_t layer,
                    AttentionTensors which, LayerTensors<const gguf::TensorInfo*>& L);
// A layer's MoE input: ffn_norm and the router ffn_gate_inp; with `shared_expert`
// ffn_{gate,up,down}_shexp and its gate ffn_gate_inp_shexp.
void bind_moe(const TensorTable& table, const ModelConfig& config, std::uint32_t layer, bool shared_expert,
              LayerTensors<const gguf::TensorInfo*>& L);
// A dense FFN layer's ffn_{gate,up,down} (feed_forward_length wide), and a shared expert's
// ffn_{gate,up,down}_shexp without its gate (expert_shared_feed_forward_length wide).
void bind_dense_ffn(const TensorTable& table, const ModelConfig& config, std::uint32_t layer,
                    LayerTensors<const gguf::TensorInfo*>& L);
void bind_shared_expert(const TensorTable& table, const ModelConfig& config, std::uint32_t layer,
                        LayerTensors<const gguf::TensorInfo*>& L);
// Every layer of a pre-norm MoE transformer: embeddings and head, then per layer its
// attention (`attention` says which optional tensors) and MoE input.
BoundTensors bind_moe_transformer(const TensorTable& table, const ModelConfig& config,
                                  AttentionTensors attention, bool shared_expert);
offload::ExpertLayout gate_up_down_experts(const gguf::File& file, const ModelConfig& config);

// Null when ferry has no recipe for the architecture.
const Recipe* find_recipe(std::string_view architecture);
// The recipe of a runnable config (throws ferry::Error naming the file otherwise);
// `chosen`, where given, instead of the architecture's (it must be of the same one).
const Recipe& recipe_for(const ModelConfig& config, const gguf::File& file, const Recipe* chosen = nullptr);
// The routed experts of a runnable model as the expert engine sees them.
offload::ExpertLayout expert_layout(const gguf::File& file, const ModelConfig& config);

}  // namespace ferry::model
