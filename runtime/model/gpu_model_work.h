#pragma once
// The forward pass's activation, staging and readback buffers (gpu_model.cpp,
// gpu_blocks.cpp and gpu_moe_block.cpp record into them).
#include "kernels/matvec.h"
#include "model/config.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <algorithm>
#include <cstdint>

namespace ferry::model {

inline vk::Buffer device_buffer(vk::Device& d, std::uint64_t bytes, const char* name) {
    return vk::Buffer(d, std::max<std::uint64_t>(bytes, 16), vk::MemoryKind::DeviceLocal, name);
}

// Activation buffers for up to B = max_batch tokens. E = n_embd, K = top-k experts,
// F = expert ff width, S = shared expert width, X = experts per layer, V = vocabulary.
struct Work {
    vk::Buffer tokens, positions;  // int32 [B]
    // Decode of several sequences (GpuModel::decode_many): token t's position alone at
    // t * kRowPositionStride, so each sequence's attention binds its own (256: the largest
    // storage-buffer offset alignment Vulkan allows).
    static constexpr std::uint64_t kRowPositionStride = 256;
    vk::Buffer row_positions;
    vk::Buffer row_ids;  // and each token's top-k expert ids, at t * kRowPositionStride (top-k <= 64)
    vk::Buffer x, h, o;            // [B, E]: residual stream, normed input, block output
    vk::Buffer resid;              // [B, E]: the residual kept aside while x sums experts (Gemma 4)
    vk::Buffer q, attn;            // [B, n_heads * head_dim]
    vk::Buffer k, v;               // [B, n_kv_heads * head_dim]
    vk::Buffer attn_scratch;
    vk::Buffer router_logits;                        // [B, X]
    vk::Buffer ids, weights;                         // int32 / F32 [B, K]
    vk::Buffer gate_off, up_off, down_off;           // uint32 [K]: decode expert offsets
    vk::Buffer residency;                            // uint32 [X]: expert -> slot (identity: all resident)
    vk::Buffer groups_gate, groups_up, groups_down;  // ExpertGroup [X]: prefill
    vk::Buffer routes;                               // uint32 [B * K]: prefill routes grouped by expert
    vk::Buffer g, u, a;                              // [B, K, F]: gate, up, act(gate) * up
    vk::Buffer d;                                    // [B, K, E]
    vk::Buffer ffn_g, ffn_u;                         // [B, max(S, Fd)]: the shared expert's (dense FFN's) gate, up
    vk::Buffer gate;                                 // [B]: a per-token gate logit
    // Gated and linear attention (empty for other families): Act::Proj, AttnGate, Mix, Z,
    // Beta, Alpha, Ssm of recipe.h.
    vk::Buffer proj, attn_gate, mix, z, beta, alpha, ssm;
    // Multi-head latent attention (empty for other families): Act::QLora, KvLora, Latent,
    // AttnV, and Proj for its q heads.
    vk::Buffer q_lora, kv_lora, latent, attn_v;
    vk::Buffer d_routes;                             // [K, E]: decode, experts computed in passes
    vk::Buffer logits;                               // [B, V]
    vk::Buffer staging;                              // host -> device: tokens, positions, groups, routes
    vk::Buffer readback;                             // device -> host: logits, ids
    vk::Buffer route_ids, route_weights;             // [n_moe_layers, B, K]: every layer's choice, for observers
    vk::Buffer route_readback;                       // both of them, host side
    vk::Buffer pred_h, pred_logits;                  // [E], [X]: lookahead gate (decode, offloading)
    vk::Buffer pred_ids, pred_weights;               // [K]
    // Byte offsets in staging: tokens + positions at 0, then prefill expert groups, routes,
    // and for host-driven offload the expert offsets [3, K], weights [B, K], CPU results [B, E].
    std::uint64_t staging_groups = 0, staging_routes = 0, staging_offsets = 0, staging_weights = 0,
                  staging_cpu_out = 0;
    // Prefill streaming experts through the slots alternates between two (groups, routes)
    // areas: the second starts at staging_second_area, staging_area_bytes after the first.
    std::uint64_t staging_second_area = 0, staging_area_bytes = 0;

    Work(vk::Device& dev, const ModelConfig& c, std::uint32_t B, std::uint64_t attn_scratch_bytes) {
        const std::uint64_t E = c.n_embd, K = c.n_experts_used, F = c.n_ff_expert, X = c.n_experts,
                            V = c.n_vocab;
        const std::uint64_t qd = std::uint64_t(c.n_heads) * c.head_dim,
                            kvd = std::uint64_t(c.n_kv_heads) * c.head_dim;
        tokens = device_buffer(dev, B * 4ull, "tokens");
        positions = device_buffer(dev, B * 4ull, "positions");
        row_positions = device_buffer(dev, B * kRowPositionStride, "positions per sequence");
        row_ids = device_buffer(dev, B * kRowPositionStride, "expert ids per sequence");
        x = device_buffer(dev, B * E * 4, "residual stream");
        h = device_buffer(dev, B * E * 4, "normed hidden");
        o = device_buffer(dev, B * E * 4, "attention output");
        if (c.traits.dense_beside_experts) resid = device_buffer(dev, B * E * 4, "saved residual");
        q = device_buffer(dev, B * qd * 4, "q");
        attn = device_buffer(dev, B * qd * 4, "attention heads");
        k = device_buffer(dev, B * kvd * 4, "k");
        v = device_buffer(dev, B * kvd * 4, "v");
        attn_scratch = device_buffer(dev, attn_scratch_bytes, "attention scratch");
        router_logits = device_buffer(dev, B * X * 4, "router logits");
        ids = device_buffer(dev, B * K * 4, "expert ids");
        weights = device_buffer(dev, B * K * 4, "expert weights");
        gate_off = device_buffer(dev, K * 4, "gate offsets");
        up_off = device_buffer(dev, K * 4, "up offsets");
        down_off = device_buffer(dev, K * 4, "down offsets");
        residency = device_buffer(dev, X * 4, "residency table");
        groups_gate = device_buffer(dev, X * sizeof(kernels::gpu::ExpertGroup), "gate groups");
        groups_up = device_buffer(dev, X * sizeof(kernels::gpu::ExpertGroup), "up groups");
        groups_down = device_buffer(dev, X * sizeof(kernels::gpu::ExpertGroup), "down groups");
        routes = device_buffer(dev, B * K * 4, "routes");
        g = device_buffer(dev, B * K * F * 4, "expert gate");
        u = device_buffer(dev, B * K * F * 4, "expert up");
        a = device_buffer(dev, B * K * F * 4, "expert activation");
        d = device_buffer(dev, B * K * E * 4, "expert out");
        const std::uint64_t S = std::max(c.n_ff_shared, c.n_ff_dense);
        ffn_g = device_buffer(dev, B * S * 4, "shared expert / dense FFN gate");
        ffn_u = device_buffer(dev, B * S * 4, "shared expert / dense FFN up");
        gate = device_buffer(dev, B * 4ull, "gate logits");
        if (c.has_linear_attention()) {
            const std::uint64_t C = c.ssm_mix_width(), Vd = c.ssm_inner(), Hv = c.ssm_v_heads;
            proj = device_buffer(dev, B * c.fused_projection_width() * 4, "fused projection");
            attn_gate = device_buffer(dev, B * qd * 4, "attention output gate");
            mix = device_buffer(dev, B * C * 4, "linear attention q|k|v");
            z = device_buffer(dev, B * Vd * 4, "linear attention output gate");
            beta = device_buffer(dev, B * Hv * 4, "delta rule beta");
            alpha = device_buffer(dev, B * Hv * 4, "delta rule alpha");
            ssm = device_buffer(dev, B * Vd * 4, "delta rule output");
        }
        if (c.has_mla()) {
            proj = device_buffer(dev, B * c.fused_projection_width() * 4, "q heads before absorption");
            q_lora = device_buffer(dev, B * c.q_lora_rank * 4, "q latent");
            kv_lora = device_buffer(dev, B * (c.kv_lora_rank + c.rope_dims) * 4, "kv latent and rope key");
            latent = device_buffer(dev, B * c.kv_lora_rank * 4, "normed kv latent");
            attn_v = device_buffer(dev, B * c.n_heads * c.mla_value_dim * 4, "value heads");
        }
        d_routes = device_buffer(dev, K * E * 4, "expert out (passes)");
        logits = device_buffer(dev, B * V * 4, "logits");
        staging_groups = 8ull * B;
        staging_routes = staging_groups + 3 * X * sizeof(kernels::gpu::ExpertGroup);
        staging_offsets = staging_routes + B * K * 4;
        staging_weights = staging_offsets + 3 * K * 4;
        staging_cpu_out = staging_weights + B * K * 4;
        staging_area_bytes = staging_offsets - staging_groups;
        staging_second_area = staging_cpu_out + B * E * 4;
        staging =
            vk::Buffer(dev, staging_second_area + staging_area_bytes, vk::MemoryKind::Staging, "staging");
        // logits; or router ids [B, K], weights [B, K], lookahead ids and weights [K], hidden rows [B, E]
        readback = vk::Buffer(dev, std::max(B * V, 2 * B * K + 2 * K + B * E) * 4, vk::MemoryKind::Readback,
                              "readback");
        const std::uint64_t route_bytes = std::uint64_t(c.n_moe_layers()) * B * K * 4;
        route_ids = device_buffer(dev, route_bytes, "routing record (ids)");
        route_weights = device_buffer(dev, route_bytes, "routing record (weights)");
        route_readback = vk::Buffer(dev, 2 * route_bytes, vk::MemoryKind::Readback, "routing readback");
        pred_h = device_buffer(dev, E * 4, "lookahead hidden");
        pred_logits = device_buffer(dev, X * 4, "lookahead router logits");
        pred_ids = device_buffer(dev, K * 4, "lookahead ids");
        pred_weights = device_buffer(dev, K * 4, "lookahead weights");
    }
};

}  // namespace ferry::model
