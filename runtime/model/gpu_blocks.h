#pragma once
// The blocks recipes are written in, recorded on Vulkan: one call per step of a layer
// (norm, projection, rope, attention over the sequence's cache, router, routed experts,
// output head) over the activations of the batch being run. Barriers come from the
// activations each call reads and writes (a call that reads what an earlier call wrote,
// or overwrites what it read, waits for it), so a recipe says what, not when.
//
// The routed experts go to the expert engine (offload/expert_engine.h), which calls back
// through MoeGpu for the GPU work only this model can record (gpu_moe_block.cpp).
#include "kernels/block_ops.h"
#include "kernels/matvec.h"
#include "model/config.h"
#include "model/gpu_model_work.h"
#include "model/gpu_weights.h"
#include "model/recipe.h"
#include "model/sequence_state.h"
#include "offload/expert_engine.h"
#include "vk/command.h"

#include <cstdint>
#include <span>

namespace ferry::model {

class GpuBlocks : public offload::MoeGpu {
public:
    GpuBlocks(const ModelConfig& config, const GpuWeights& weights, Work& work, kernels::BlockOps& ops,
              kernels::MatKernels& mat, kernels::PipelineSet& pipelines, offload::ExpertEngine& engine);

    // A batch of `tokens` at positions n_past.. of `sequence` is recorded into `cmd`; with
    // `record_routes`, every layer's choice is copied for the route observer. With
    // `row_sequences` (one per token), token t is instead the next of row_sequences[t]: a
    // decode step of several sequences, whose attention and recurrent layers each read and
    // write their own state (GpuModel::decode_many).
    void begin_batch(vk::CommandBuffer& cmd, SequenceState& sequence, std::uint32_t tokens, bool all_logits,
                     bool record_routes, std::span<SequenceState* const> row_sequences = {});

    // What recipes call (families/*.cpp).
    const ModelConfig& config() const { return config_; }
    const GpuWeights& weights() const { return weights_; }
    const LayerTensors<DeviceTensor>& layer(std::uint32_t l) const { return weights_.layers[l]; }
    // The steps after this are layer l's: the widths of q, k, v and attn, their heads and
    // rope follow its attention shape (layer_attention(): Gemma 4's differ per layer).
    void begin_layer(std::uint32_t l) { layer_ = l; }
    void embed();                                                 // x = token_embd[tokens]
    void scale(Act a, float factor);                              // a *= factor
    void scale_by(Act a, const DeviceTensor& factor);             // a *= factor[0] (an F32 [1])
    void rms_norm(Act in, const DeviceTensor& weight, Act out);   // out = RMSNorm(in) ⊙ weight, per token
    void head_norm(Act qk, const DeviceTensor& weight);           // the same over each head (head_shape), in place
    void head_rms(Act qk);                                        // RMSNorm of each head without a weight
    void project(const DeviceTensor& w, Act in, Act out);         // out = W · in
    void head_project(const DeviceTensor& w, Act in, Act out,     // out_h = W_h · in_h per head (recipe.h)
                      const HeadProjection& p);
    void add_bias(Act a, const DeviceTensor& bias);               // a += bias, per token
    void glu(Act gate, Act up);                                   // gate = act(gate) ⊙ up
    void sigmoid_gate(Act a, Act gate);                           // a *= sigmoid(gate), per token or elementwise
    void gather(Act in, Act out, const Split& split);             // column blocks of in into out (recipe.h)
    void conv(std::uint32_t layer);                               // mix = SiLU(conv1d(mix)) with the layer's state
    void delta_net(std::uint32_t layer);                          // ssm = delta rule(mix, beta, alpha), state updated
    void rope(Act qk);                                            // rotary positions of q or k heads
    void attend(std::uint32_t layer);                             // attn = attention(q, k, v) over the cache
    void add(Act to, Act delta);                                  // to += delta
    void route(std::uint32_t layer, const DeviceTensor& router);  // ids, weights = router(W_r h)
    void weight_expert_input();                                   // h *= the top-1 weight; weights = 1
    void experts(std::uint32_t layer);                            // x += Σ weights · experts(h)
    void logits(const DeviceTensor& output);  // logits = W_out · h (all or last token), soft-capped
                                              // where the config has final_logit_softcap

    // offload::MoeGpu
    void record_lookahead(vk::CommandBuffer& cmd, std::uint32_t layer) override;
    offload::LayerRoutes read_routes(vk::CommandBuffer& cmd, std::uint32_t routes, bool predicted,
                                     std::uint32_t h_rows) override;
    void write_routes(vk::CommandBuffer& cmd, std::span<const std::int32_t> ids,
                      std::span<const float> weights) override;
    void record_decode(vk::CommandBuffer& cmd, std::uint32_t layer, const vk::Buffer* residency,
                       offload::FfnTimer timer) override;
    void record_decode_pass(vk::CommandBuffer& cmd, std::uint32_t layer, std::span<const std::uint32_t> slots,
                            std::span<const std::uint32_t> keep, offload::FfnTimer timer) override;
    void record_prefill_chunk(vk::CommandBuffer& cmd, std::uint32_t layer,
                              std::span<const offload::ExpertGroup> groups, std::uint32_t area,
                              offload::FfnTimer timer) override;
    void record_combine(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens, bool passes,
                        std::span<const float> weights) override;
    void record_add(vk::CommandBuffer& cmd, std::span<const float> sum) override;

private:
    const vk::Buffer& buffer(Act a) const;
    std::uint32_t width(Act a) const;  // floats per token
    // Orders this call after earlier ones it conflicts with (see the header comment).
    void access(std::initializer_list<Act> reads, std::initializer_list<Act> writes);
    void barrier();  // every earlier call before every later one
    void record_router(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens, bool lookahead);
    // d[k] = W_down[k] · act(W_gate[k] h, W_up[k] h) for the K routes whose weight offsets
    // are in gate_off / up_off / down_off.
    void record_decode_ffn(vk::CommandBuffer& cmd, std::uint32_t layer, offload::FfnTimer timer);
    // to += delta over n floats, then a barrier.
    void elementwise_add(vk::CommandBuffer& cmd, const vk::Buffer& to, const vk::Buffer& delta, std::uint32_t n);
    // a = a · factor, or factor · tanh(a / factor) (softcap), over n floats.
    void elementwise_scale(const vk::Buffer& a, std::uint32_t n, float factor, bool softcap);
    void head_rms_norm(Act qk, const DeviceTensor* weight);
    void multiply(const kernels::DeviceMatrix& m, const kernels::Activations& x, const kernels::Activations& y);
    const LayerTensors<DeviceTensor>& moe_layer(std::uint32_t engine_layer) const;
    void record_expert_glu(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t routes);
    void record_moe_combine(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens,
                            const vk::Buffer& expert_out);
    kernels::Glu glu_kind() const;

    const ModelConfig& config_;
    const GpuWeights& weights_;
    Work& w_;
    kernels::BlockOps& ops_;
    kernels::MatKernels& mat_;
    kernels::PipelineSet& pipelines_;
    offload::ExpertEngine& engine_;
    vk::CommandBuffer* cmd_ = nullptr;
    SequenceState* sequence_ = nullptr;
    std::span<SequenceState* const> rows_;  // non-empty: token t belongs to rows_[t]
    // The same steps for a batch of several sequences, one token each (gpu_blocks_rows.cpp).
    void attend_rows(std::uint32_t layer);
    void conv_rows(std::uint32_t layer);
    void delta_net_rows(std::uint32_t layer);
    void record_slot_offsets(vk::CommandBuffer& cmd, std::uint32_t layer, const vk::BufferBinding& ids,
                             const vk::Buffer& residency);
    void experts_rows(std::uint32_t engine_layer);  // resident experts only
    std::uint32_t tokens_ = 0;
    std::uint32_t layer_ = 0;  // begin_layer's
    bool all_logits_ = false;
    bool record_routes_ = false;
    std::uint32_t written_ = 0, read_ = 0;  // Act bits since the last barrier
};

}  // namespace ferry::model
