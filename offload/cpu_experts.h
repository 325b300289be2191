#pragma once
// Routed experts computed on the CPU straight from the memory-mapped GGUF: the CPU half of
// hybrid execution. When copying a missing expert into VRAM costs more than computing it
// here (offload/miss_cost.h decides), the GPU computes the cached experts while this adds
// the missing ones' weighted outputs into a host buffer that the GPU then adds to x.
#include "cpu/fast_matmul.h"
#include "cpu/thread_pool.h"
#include "gguf/reader.h"
#include "offload/expert_layout.h"

#include <cstdint>
#include <span>
#include <vector>

namespace ferry::offload {

// One (token, expert) pair the router chose, with the expert's weight for that token.
struct ExpertRoute {
    std::uint32_t token;
    std::uint32_t expert;
    float weight;
};

// One expert's three FFN matrices in the mapped file, whatever the layer's layout (the fused
// gate_up part split into its gate and up rows). Not checked: cpu::check_matrix them.
struct ExpertFfnMatrices {
    cpu::QuantMatrix gate, up;  // [n_ff, n_embd]
    cpu::QuantMatrix down;      // [n_embd, n_ff]
};
ExpertFfnMatrices expert_ffn_matrices(const gguf::File& file, const ExpertLayer& layer, std::uint32_t expert,
                                      std::uint32_t n_embd);

// out = act(gate) ⊙ up with the layout's activation (cpu::swiglu / geglu / swiglu_oai).
void expert_activation(ExpertActivation kind, std::span<const float> gate, std::span<const float> up,
                       std::span<float> out);

// Not safe for concurrent use (it owns one ExpertMatmul and its scratch); it may share the
// pool with other users, whose runs then take turns.
class CpuExperts {
public:
    // Reads each layer's experts (as `layout` places them) straight from `file`'s mapping
    // (no copy); `file` and `pool` must outlive this. Throws ferry::Error for a type the
    // CPU cannot run.
    CpuExperts(const gguf::File& file, const ExpertLayout& layout, cpu::ThreadPool& pool);

    // out[t, :] += Σ_{routes r with r.token == t} r.weight · ffn_{r.expert}(h[t, :])
    //   h: [n_tokens, n_embd] (the layer's normed hidden state)   out: [n_tokens, n_embd]
    // Deterministic whatever the pool's size: experts in ascending id, tokens in route order
    // within an expert, each output row accumulated in that order.
    void add_experts(std::uint32_t layer, std::span<const float> h, std::uint32_t n_tokens,
                     std::span<const ExpertRoute> routes, std::span<float> out);

    // Bytes of one expert of `layer` (its gate, up and down slices): what computing it reads.
    std::uint64_t expert_bytes(std::uint32_t layer) const;

    std::uint32_t n_layers() const { return std::uint32_t(layers_.size()); }
    std::uint32_t n_embd() const { return n_embd_; }
    std::uint32_t n_experts() const { return n_experts_; }
    std::uint32_t n_experts_used() const { return n_experts_used_; }

private:
    struct Layer {
        std::vector<ExpertFfnMatrices> experts;  // [n_experts]
        std::uint64_t bytes = 0;                 // one expert's
        ExpertBiases biases;
        std::uint32_t n_ff = 0;
    };
    // y = ffn_e(x) for `rows` tokens: the fused SwiGLU kernel where the layer allows it,
    // else gate and up, their biases, the activation, down and its bias.
    void expert_ffn(const Layer& L, std::uint32_t e, std::size_t rows);
    void check_routes(std::uint32_t layer, std::span<const float> h, std::uint32_t n_tokens,
                      std::span<const ExpertRoute> routes, std::span<float> out) const;

    std::uint32_t n_embd_ = 0;
    std::uint32_t n_experts_ = 0;
    std::uint32_t n_experts_used_ = 0;
    std::vector<Layer> layers_;
    cpu::ExpertMatmul matmul_;
    // Scratch kept between calls (decode calls this per layer per token).
    std::vector<std::uint32_t> order_;  // route indices sorted by (expert, route order)
    std::vector<float> x_;              // [rows, n_embd] one expert's gathered h rows
    std::vector<float> y_;              // [rows, n_embd] its outputs
    std::vector<float> gate_, up_, act_;  // [rows, n_ff] the unfused path's
    ExpertActivation activation_ = ExpertActivation::SiLU;
};

}  // namespace ferry::offload
