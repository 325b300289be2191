#pragma once
// What `ferry info` shows about a GGUF file: architecture, hyper-parameters, tokenizer,
// tensor bytes by type, dense vs routed-expert bytes, and what a VRAM budget would hold.
// Works on any GGUF (any architecture, vocab-only files with zero tensors) and needs no GPU.
#include "gguf/reader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ferry::model {

struct HyperParameter {
    std::string key;  // without the "<arch>." prefix: "block_count", "attention.head_count_kv"
    gguf::Value value;
};

struct TypeBytes {
    gguf::TensorType type;
    std::uint64_t tensors = 0;
    std::uint64_t bytes = 0;
};

// Routed experts: slices along dim 2 of the 3-D tensors blk.N.ffn_{gate,up,down}_exps.weight.
struct ExpertLayout {
    std::uint32_t moe_layers = 0;  // layers with routed-expert tensors
    std::uint64_t experts_per_layer = 0;
    std::uint64_t total_experts = 0;  // moe_layers * experts_per_layer
    // One expert = its gate + up + down slices in one layer. Quant mixes (Q4_K_M) give
    // some layers bigger experts, so both ends are kept; a VRAM slot must hold the largest.
    std::uint64_t expert_bytes_min = 0;
    std::uint64_t expert_bytes_max = 0;
    // The largest one-tensor slice of one expert (a gate, up or down slice): a layer's pool
    // of that tensor is slots x this, and must fit one storage binding on the device.
    std::uint64_t slice_bytes_max = 0;
};

struct ModelSummary {
    std::string file;
    std::uint64_t file_size = 0;
    std::uint32_t version = 0;
    std::string architecture;                      // general.architecture ("" when absent)
    std::string name;                              // general.name
    std::vector<HyperParameter> hyper_parameters;  // the <arch>.* keys ferry reads, when present
    std::string tokenizer_model;                   // tokenizer.ggml.model
    std::string tokenizer_pre;                     // tokenizer.ggml.pre
    std::optional<std::uint64_t> vocab_size;       // tokenizer.ggml.tokens count (or <arch>.vocab_size)

    std::uint64_t tensor_count = 0;
    std::uint64_t tensor_bytes = 0;
    std::vector<TypeBytes> bytes_by_type;  // largest first
    std::uint64_t dense_bytes = 0;         // every tensor that is not a routed expert
    std::uint64_t routed_expert_bytes = 0;
    // nextn_predict_layers: multi-token-prediction blocks after the last layer, which ferry
    // neither loads nor plans for; their tensors' bytes (in tensor_bytes, in neither above).
    std::uint64_t nextn_layers = 0, nextn_bytes = 0;
    ExpertLayout experts;

    // Shape numbers used by the budget estimate; 0 when the file does not say.
    std::uint64_t n_layers = 0, n_embd = 0, n_head = 0, key_length = 0, value_length = 0;
    std::uint64_t n_kv_heads_max = 0, n_experts_used = 0, n_ff_expert = 0, n_ff_shared = 0;
    // KV cache geometry (per token, all layers): sum over layers of
    // n_kv_heads(l) * (key_length + value_length); 0 when the keys are missing.
    std::uint64_t kv_elements_per_token = 0;
    // Linear-attention layers (full_attention_interval): they hold no KV cache but a
    // fixed F32 state (conv inputs + delta-rule S) and a checkpoint copy of it (so chat can
    // go back to the end of the previous turn), this many bytes for all of them.
    std::uint64_t recurrent_layers = 0, recurrent_state_bytes = 0;
    // Sliding-window layers given per layer (Gemma 4: attention.sliding_window_pattern, their
    // own key_length_swa / value_length_swa): their cache is a ring of the window's positions,
    // so they count here per position of the ring, not in kv_elements_per_token.
    std::uint64_t sliding_layers = 0, sliding_window = 0, sliding_kv_elements = 0;
    std::vector<std::string> notes;  // what could not be worked out, and why
};

// Reads everything from the file's metadata and tensor table. Never throws for odd
// metadata (a string block_count, missing keys): it describes what is there and notes
// what it could not work out.
ModelSummary summarize(const gguf::File& file);

struct BudgetRequest {
    std::uint64_t vram_budget = 0;
    std::uint32_t ctx = 4096;
    std::uint32_t batch = 64;  // prefill batch: a sliding layer's ring holds window + batch - 1 positions
    std::optional<std::uint64_t> work_reserve;  // default: estimate_work_reserve()
    std::uint64_t max_pool_bytes = 0;           // the device's largest binding; 0: no limit known
};

struct BudgetPlan {
    std::uint64_t budget = 0;
    std::uint32_t ctx = 0;
    std::uint64_t dense_bytes = 0;
    std::uint64_t kv_cache_bytes = 0;  // F16 K and V for ctx tokens, plus recurrent states
    std::uint64_t work_reserve = 0;
    bool fits = false;               // dense + KV + work + one expert slot per layer fit
    std::uint64_t missing = 0;       // bytes short when !fits
    std::string advice;              // when !fits: what would help, one line
    std::uint64_t expert_space = 0;  // what is left for expert slots when fits
    std::uint64_t slot_bytes = 0;    // one slot holds the largest expert
    std::uint64_t slots_total = 0;   // capped at the number of experts
    std::uint64_t slots_per_layer = 0;
    double percent_of_experts = 0;   // slots_total / total experts * 100
    bool capped_by_binding = false;  // the device's binding limit, not the budget, set the slots
};

// Work buffers for a prefill batch of 512 tokens (f32 activations: hidden states, q/k/v,
// router logits, expert intermediates for top-k) and the logits row, plus 16 MiB for the
// driver's small allocations. An estimate until the planner measures real buffers.
std::uint64_t estimate_work_reserve(const ModelSummary& summary);

BudgetPlan plan_budget(const ModelSummary& summary, const BudgetRequest& request);
// Slots per layer whose pools fit bindings of max_pool_bytes (0: no limit): at most the
// experts per layer.
std::uint32_t slots_per_binding(const ModelSummary& summary, std::uint64_t max_pool_bytes);

// Human-readable report, and the same as a JSON object (pretty-printed).
std::string format_summary(const ModelSummary& summary, const std::optional<BudgetPlan>& plan);
std::string summary_json(const ModelSummary& summary, const std::optional<BudgetPlan>& plan);

}  // namespace ferry::model
