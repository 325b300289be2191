#pragma once
// The blocks recipes are written in, on the CPU: plain F32 reference code, one token at a
// time, over the GGUF's own weights (dequantized row by row as they are used). The oracle
// GpuBlocks is tested against; the same calls, so a recipe is both.
#include "cpu/reference_matmul.h"
#include "cpu/reference_ops.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/recipe.h"
#include "model/route_observer.h"
#include "offload/expert_layout.h"

#include <cstdint>
#include <span>
#include <vector>

namespace ferry::model {

// A bound tensor in the mapping: as a matrix, or (F32 norms and vectors) as its values.
struct CpuTensor {
    cpu::QuantMatrix matrix;
    std::span<const float> values;  // F32 tensors only
    explicit operator bool() const { return matrix.data != nullptr; }
};

class ReferenceBlocks {
public:
    // `file` must outlive the blocks. n_ctx: positions of the KV cache.
    ReferenceBlocks(const gguf::File& file, const ModelConfig& config, const BoundTensors& tensors,
                    const offload::ExpertLayout& experts, std::uint32_t n_ctx);

    // The next forward runs `token` at `position`; its logits land in logits().
    void begin_token(std::int32_t token, std::uint32_t position);
    std::span<const float> logits() const { return logits_; }
    void set_route_observer(RouteObserver observer) { observer_ = std::move(observer); }

    // What recipes call (families/*.cpp); see gpu_blocks.h for each call's meaning.
    const ModelConfig& config() const { return config_; }
    const ModelTensors<CpuTensor>& weights() const { return weights_; }
    const LayerTensors<CpuTensor>& layer(std::uint32_t l) const { return weights_.layers[l]; }
    void begin_layer(std::uint32_t l);
    void embed();
    void scale(Act a, float factor);
    void scale_by(Act a, const CpuTensor& factor);
    void rms_norm(Act in, const CpuTensor& weight, Act out);
    void head_norm(Act qk, const CpuTensor& weight);
    void head_rms(Act qk);
    void project(const CpuTensor& w, Act in, Act out);
    void head_project(const CpuTensor& w, Act in, Act out, const HeadProjection& p);
    void add_bias(Act a, const CpuTensor& bias);
    void glu(Act gate, Act up);
    void sigmoid_gate(Act a, Act gate);
    void gather(Act in, Act out, const Split& split);
    void conv(std::uint32_t layer);
    void delta_net(std::uint32_t layer);
    void rope(Act qk);
    void attend(std::uint32_t layer);
    void add(Act to, Act delta);
    void route(std::uint32_t layer, const CpuTensor& router);
    void weight_expert_input();
    void experts(std::uint32_t layer);
    void logits(const CpuTensor& output);

private:
    std::vector<float>& act(Act a);
    void head_rms_norm(Act qk, std::span<const float> weight);

    const gguf::File& file_;
    const ModelConfig& config_;
    ModelTensors<CpuTensor> weights_;
    const offload::ExpertLayout& experts_;
    std::uint32_t n_ctx_;
    std::vector<std::vector<float>> k_cache_, v_cache_;  // per layer [n_ctx, n_kv_heads * head_dim]
    // Per linear-attention layer: the conv's last inputs [C, K-1], the delta rule's S [Hv, Dk, Dv].
    std::vector<std::vector<float>> conv_state_, delta_state_;
    std::vector<std::vector<float>> acts_;               // per Act
    std::int32_t token_ = 0;
    std::uint32_t pos_ = 0;
    std::uint32_t layer_ = 0;
    cpu::RouterChoice choice_;
    std::vector<float> logits_;
    RouteObserver observer_;
};

}  // namespace ferry::model
