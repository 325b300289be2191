#pragma once
// A model's routed experts as the expert engine sees them: per layer, the weight matrices
// of one expert FFN ("parts") and, for every expert, where its bytes are in the mapped
// GGUF. Nothing here knows a family: a recipe (runtime/model/families/) says which tensors
// hold the experts and the engine moves byte ranges.
//
// Real files store experts in two ways, both described here:
//   merged   one 3-D tensor per part, [cols, rows, n_experts]: expert e is the byte range
//            [e * expert_bytes, (e + 1) * expert_bytes) of it (ffn_{gate,up,down}_exps, or
//            the fused ffn_gate_up_exps whose rows are gate then up);
//   split    one 2-D tensor per expert and part (older Mixtral files: ffn_gate.E.weight),
//            each expert's bytes wherever that tensor lies.
#include "gguf/reader.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::offload {

// How a layer's parts make one expert FFN: down(act(gate x) * (up x)).
enum class ExpertFfnKind : std::uint8_t {
    GateUpDown,      // parts: gate [F, E], up [F, E], down [E, F]
    FusedGateUpDown  // parts: gate_up [2F, E] (gate rows first), down [E, F]
};

// One weight matrix of every expert of a layer.
struct ExpertPart {
    std::string name;  // the 3-D tensor, or the first expert's 2-D tensor (for messages)
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t rows = 0, cols = 0;         // one expert's matrix [rows, cols]
    std::uint64_t expert_bytes = 0;           // one expert's matrix
    std::vector<std::uint64_t> file_offsets;  // [n_experts]: absolute offset of each expert's bytes
    // True when expert e starts at file_offsets[0] + e * expert_bytes (merged 3-D tensor).
    bool contiguous() const;
};

// Per-expert biases (gpt-oss), F32 in the mapped file: expert e's rows at e * F / e * E.
struct ExpertBiases {
    const float* gate = nullptr;  // [n_experts, F]
    const float* up = nullptr;    // [n_experts, F]
    const float* down = nullptr;  // [n_experts, E]
    explicit operator bool() const { return gate != nullptr; }
};

struct ExpertLayer {
    ExpertFfnKind kind = ExpertFfnKind::GateUpDown;
    std::vector<ExpertPart> parts;       // 3 (GateUpDown) or 2 (FusedGateUpDown)
    std::uint32_t n_ff = 0;              // F: the expert's hidden width
    ExpertBiases biases;                 // none for most families
    std::uint64_t expert_bytes() const;  // all parts of one expert
};

// The activation between gate and up: act(gate) * up; SwiGluOai is gpt-oss's clamped
// form (cpu::swiglu_oai).
enum class ExpertActivation : std::uint8_t { SiLU, GeluTanh, SwiGluOai };

struct ExpertLayout {
    ExpertActivation activation = ExpertActivation::SiLU;
    std::uint32_t n_experts = 0;      // per layer
    std::uint32_t top_k = 0;          // experts a token uses per layer
    std::uint32_t n_embd = 0;         // E: the expert's input and output width
    std::vector<ExpertLayer> layers;  // one per model layer (the engine's layer index)

    std::uint32_t n_layers() const { return std::uint32_t(layers.size()); }
};

// What a recipe names for one layer's experts; the reader finds the tensors.
struct ExpertTensorNames {
    // Merged: "blk.3.ffn_gate_exps.weight"; split: "blk.3.ffn_gate.{}.weight" with {} the
    // expert index. Parts in the order of ExpertFfnKind.
    std::vector<std::string> merged;
    std::vector<std::string> split;
};

// Reads one layer's experts from `file`: the merged tensors when present, else the split
// ones. Checks every shape against (n_experts, n_embd, n_ff) and names the file and
// tensor when something is missing or disagrees.
ExpertLayer read_expert_layer(const gguf::File& file, const ExpertTensorNames& names, ExpertFfnKind kind,
                              std::uint32_t n_experts, std::uint32_t n_embd, std::uint32_t n_ff);

// "blk.<layer>.ffn_gate_exps.weight" / "blk.<layer>.ffn_gate.{}.weight" for the usual
// separate gate / up / down experts, and the fused ffn_gate_up_exps for kind Fused.
ExpertTensorNames standard_expert_names(std::uint32_t layer, ExpertFfnKind kind);

}  // namespace ferry::offload
