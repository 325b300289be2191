#include "model/gpu_model.h"

#include "base/error.h"
#include "kernels/expert_slots.h"
#include "model/gpu_model_work.h"
#include "vk/barrier.h"
#include "vk/transfer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace ferry::model {

std::uint64_t GpuModel::max_pool_bytes(const vk::Device& device) {
    const vk::DeviceLimits& limits = device.limits();
    std::uint64_t max_pool = std::min<std::uint64_t>(limits.max_storage_buffer_range, 1ull << 32);
    if (limits.max_memory_allocation) max_pool = std::min(max_pool, limits.max_memory_allocation);
    return max_pool;
}

namespace {

struct ElementwisePush {
    std::uint32_t n;
    float scale;
};
constexpr std::uint32_t kElementwiseGroup = 256;

cpu::AttentionParams attention_params(const ModelConfig& c) {
    return {int(c.n_heads), int(c.n_kv_heads), int(c.head_dim), 1.f / std::sqrt(float(c.head_dim)), 0, 0.f};
}

}  // namespace

std::uint64_t work_buffer_bytes(const ModelConfig& c, std::uint32_t batch, bool host_memory_counts,
                                std::uint64_t offload_expert_bytes) {
    const std::uint64_t scratch = kernels::BlockOps::attention_scratch_bytes(attention_params(c));
    const GpuModel::WorkBytes w = GpuModel::work_bytes(c, batch, scratch);
    // Offloading adds a residency table per layer and the upload ring (host memory); the
    // driver's own small allocations (pipelines, descriptor pools) are not ours to count.
    if (offload_expert_bytes == 0) return w.device + (host_memory_counts ? w.host : 0);
    const std::uint64_t tables = std::uint64_t(c.n_layers) * c.n_experts * 4;
    const std::uint64_t ring = ExpertOffload::ring_bytes_bound(c, offload_expert_bytes);
    return w.device + tables + (host_memory_counts ? w.host + ring : 0);
}

GpuModel::GpuModel(vk::Device& device, const gguf::File& file, const GpuModelOptions& options,
                   const LoadProgress& progress)
    : device_(device),
      file_(file),
      config_(read_config(file)),
      options_(options),
      ops_(device),
      mat_(device),
      pipelines_(device) {
    require_runnable(config_, file);
    check_tensor_shapes(config_, file);
    const ModelConfig& c = config_;
    if (options_.n_ctx == 0) fail("--ctx must be at least 1");
    if (options_.max_batch == 0) fail("the prefill batch must hold at least 1 token");
    if (c.head_dim % 4)
        fail("{}: head size {} is not a multiple of 4, which the GPU kernels need", file.name(), c.head_dim);
    if (options_.cpu_moe) options_.expert_slots = 1;  // pools stay (tiny) so the kernels bind something
    const bool offload = options_.expert_slots > 0 && options_.expert_slots < c.n_experts;
    weights_ = upload_weights(device, file, c, offload ? options_.expert_slots : 0, progress);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const std::uint64_t bytes = kernels::kv_cache_bytes(options_.n_ctx, c.n_kv_heads, c.head_dim);
        k_cache_.push_back(device_buffer(device, bytes, "K cache"));
        v_cache_.push_back(device_buffer(device, bytes, "V cache"));
    }
    work_ = std::make_unique<Work>(device, c, options_.max_batch,
                                   kernels::BlockOps::attention_scratch_bytes(attention_params(c)));
    std::vector<std::uint32_t> identity(c.n_experts);
    std::iota(identity.begin(), identity.end(), 0u);
    vk::upload(device, work_->residency, std::span<const std::uint32_t>(identity));
    cmd_ = std::make_unique<vk::CommandBuffer>(device, vk::QueueKind::Compute);
    if (offload) {
        ExpertSource* source = options_.expert_source;
        if (!source) {
            own_source_ = std::make_unique<ExpertSource>(file, c, &device);
            source = own_source_.get();
        }
        prefill_cmd_ = std::make_unique<vk::CommandBuffer>(device, vk::QueueKind::Compute);
        offload_ = std::make_unique<ExpertOffload>(device, c, weights_.layers, options_.expert_slots,
                                                   options_.cache_policy, *source);
        measure_upload_rate();
        if (options_.prefetch && !options_.cpu_moe) offload_->set_predictor(options_.predictor);
        if (options_.cpu_moe || options_.miss_policy != offload::MissPolicy::Copy) start_hybrid(file);
    }
}

GpuModel::~GpuModel() = default;

std::uint64_t GpuModel::device_bytes() const {
    return device_.accountant().current();
}

void GpuModel::truncate(std::uint32_t n) {
    if (n > n_past_) fail("cannot keep {} positions: only {} are in the context", n, n_past_);
    n_past_ = n;
}

std::vector<float> GpuModel::forward(std::span<const std::int32_t> tokens, bool all_logits) {
    const ModelConfig& c = config_;
    if (std::uint64_t(n_past_) + tokens.size() > options_.n_ctx)
        fail("context full: {} tokens in the cache + {} new > --ctx {}", n_past_, tokens.size(),
             options_.n_ctx);
    for (std::int32_t t : tokens)
        if (t < 0 || std::uint32_t(t) >= c.n_vocab)
            fail("token id {} is outside the vocabulary (0..{})", t, c.n_vocab - 1);
    std::vector<float> logits;
    for (std::size_t first = 0; first < tokens.size(); first += options_.max_batch) {
        const std::size_t n = std::min<std::size_t>(options_.max_batch, tokens.size() - first);
        const bool last_batch = first + n == tokens.size();
        forward_batch(tokens.subspan(first, n), all_logits, logits);
        if (!all_logits && !last_batch) logits.clear();
    }
    return logits;
}

// Submits compute work; when it reads experts whose copies may still run, it waits for
// them on the GPU, and the host's wait for them is timed as upload stall.
void GpuModel::submit_and_wait(vk::CommandBuffer& cmd) {
    submit_compute(cmd);
    finish_compute(cmd);
}

void GpuModel::submit_compute(vk::CommandBuffer& cmd) {
    if (pending_ready_ == 0)
        cmd.submit();
    else
        cmd.submit({.waits = {{&offload_->timeline(), pending_ready_}}});
}

void GpuModel::finish_compute(vk::CommandBuffer& cmd) {
    if (pending_ready_ != 0) offload_->wait_ready(pending_ready_);
    pending_ready_ = 0;
    cmd.wait();
}

void GpuModel::forward_batch(std::span<const std::int32_t> tokens, bool all_logits,
                             std::vector<float>& logits) {
    const ModelConfig& c = config_;
    Work& w = *work_;
    const std::uint32_t B = std::uint32_t(tokens.size());
    vk::CommandBuffer& cmd = *cmd_;
    if (offload_) offload_->next_token(B);
    tokens_processed_ += B;
    if (B > 1) predicted_.clear();  // decode predictions carry over to the next token's first layer

    // Token ids and positions n_past.. into the staging buffer, then to the GPU.
    auto* staged = w.staging.as<std::int32_t>().data();
    std::memcpy(staged, tokens.data(), B * 4);
    for (std::uint32_t t = 0; t < B; ++t) staged[B + t] = std::int32_t(n_past_ + t);
    cmd.begin();
    cmd.copy(w.staging, w.tokens, {0, 0, B * 4ull});
    cmd.copy(w.staging, w.positions, {B * 4ull, 0, B * 4ull});
    vk::transfer_to_compute(cmd);

    // x = token_embd[tokens]
    ops_.embed(cmd, {.table = weights_.token_embd.buffer,
                     .ids = w.tokens,
                     .out = w.x,
                     .type = weights_.token_embd.type,
                     .n_rows = c.n_vocab,
                     .n_cols = c.n_embd,
                     .tokens = B});
    vk::compute_to_compute(cmd);

    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        record_attention(cmd, l, B);
        record_router(cmd, l, B);
        if (observer_) record_route_copy(cmd, l, B);
        if (B == 1) {
            if (offloading()) {
                decode_offloaded_layer(cmd, l);
            } else {
                if (options_.route_override) {
                    Routes r = read_routes(cmd, c.n_experts_used, false);
                    override_routes(cmd, l, r);
                    cmd.begin();
                }
                record_experts_decode(cmd, l);
            }
        } else {
            record_experts_prefill(cmd, l, B);
        }
    }

    // logits = W_out · rms_norm(x): every token's, or the last one's.
    ops_.rms_norm(cmd, {.x = w.x,
                        .weight = weights_.output_norm.buffer,
                        .y = w.h,
                        .n = c.n_embd,
                        .rows = B,
                        .eps = c.rms_eps});
    vk::compute_to_compute(cmd);
    const std::uint32_t n_out = all_logits ? B : 1;
    if (all_logits && B > 1)
        mat_.matmul(cmd, weights_.output.matrix(), {.buffer = &w.h}, {.buffer = &w.logits}, B);
    else
        mat_.matvec(cmd, weights_.output.matrix(), {.buffer = &w.h, .offset = (B - 1) * c.n_embd},
                    {.buffer = &w.logits});
    vk::compute_to_transfer(cmd);
    const std::uint64_t bytes = std::uint64_t(n_out) * c.n_vocab * 4;
    cmd.copy(w.logits, w.readback, {0, 0, bytes});
    if (observer_) {
        const std::uint64_t route_bytes = std::uint64_t(c.n_layers) * B * c.n_experts_used * 4;
        cmd.copy(w.route_ids, w.route_readback, {0, 0, route_bytes});
        cmd.copy(w.route_weights, w.route_readback, {0, route_bytes, route_bytes});
    }
    vk::transfer_to_host(cmd);
    submit_and_wait(cmd);
    w.readback.invalidate();
    const float* out = w.readback.as<float>().data();
    logits.insert(logits.end(), out, out + std::size_t(n_out) * c.n_vocab);
    if (observer_) report_routes(B);
    n_past_ += B;
}

// The router's ids and weights of `layer` into the routing record (before the next
// layer's router overwrites them).
void GpuModel::record_route_copy(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B) {
    const std::uint64_t bytes = std::uint64_t(B) * config_.n_experts_used * 4;
    vk::compute_to_transfer(cmd);
    cmd.copy(work_->ids, work_->route_ids, {0, layer * bytes, bytes});
    cmd.copy(work_->weights, work_->route_weights, {0, layer * bytes, bytes});
    vk::transfer_to_compute(cmd);
}

void GpuModel::report_routes(std::uint32_t B) {
    const ModelConfig& c = config_;
    const std::uint32_t K = c.n_experts_used;
    Work& w = *work_;
    w.route_readback.invalidate();
    const std::int32_t* ids = w.route_readback.as<std::int32_t>().data();
    const float* weights = w.route_readback.as<float>().data() + std::size_t(c.n_layers) * B * K;
    cpu::RouterChoice choice;
    for (std::uint32_t t = 0; t < B; ++t)
        for (std::uint32_t l = 0; l < c.n_layers; ++l) {
            const std::size_t at = (std::size_t(l) * B + t) * K;
            choice.experts.assign(ids + at, ids + at + K);
            choice.weights.assign(weights + at, weights + at + K);
            observer_(l, n_past_ + t, choice);
        }
}

// x += W_o · attention(rope(norm_q(W_q h)), rope(norm_k(W_k h)), W_v h),  h = rms_norm(x)
void GpuModel::record_attention(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    ops_.rms_norm(
        cmd, {.x = w.x, .weight = L.attn_norm.buffer, .y = w.h, .n = c.n_embd, .rows = B, .eps = c.rms_eps});
    vk::compute_to_compute(cmd);
    auto project = [&](const DeviceTensor& W, const vk::Buffer& in, const vk::Buffer& out) {
        if (B == 1)
            mat_.matvec(cmd, W.matrix(), {.buffer = &in}, {.buffer = &out});
        else
            mat_.matmul(cmd, W.matrix(), {.buffer = &in}, {.buffer = &out}, B);
    };
    project(L.wq, w.h, w.q);
    project(L.wk, w.h, w.k);
    project(L.wv, w.h, w.v);
    vk::compute_to_compute(cmd);
    if (c.traits.qk_norm_per_head) {
        ops_.rms_norm(cmd, {.x = w.q,
                            .weight = L.q_norm.buffer,
                            .y = w.q,
                            .n = c.head_dim,
                            .rows = B * c.n_heads,
                            .eps = c.rms_eps});
        ops_.rms_norm(cmd, {.x = w.k,
                            .weight = L.k_norm.buffer,
                            .y = w.k,
                            .n = c.head_dim,
                            .rows = B * c.n_kv_heads,
                            .eps = c.rms_eps});
        vk::compute_to_compute(cmd);
    }
    const cpu::RopeParams rope{c.traits.rope, int(c.rope_dims), c.rope_freq_base, c.rope_freq_scale};
    ops_.rope(cmd, {.x = w.q,
                    .positions = w.positions,
                    .tokens = B,
                    .n_heads = c.n_heads,
                    .head_dim = c.head_dim,
                    .params = rope});
    ops_.rope(cmd, {.x = w.k,
                    .positions = w.positions,
                    .tokens = B,
                    .n_heads = c.n_kv_heads,
                    .head_dim = c.head_dim,
                    .params = rope});
    vk::compute_to_compute(cmd);
    ops_.kv_append(cmd, {.k = w.k,
                         .v = w.v,
                         .positions = w.positions,
                         .k_cache = k_cache_[layer],
                         .v_cache = v_cache_[layer],
                         .tokens = B,
                         .n_kv_heads = c.n_kv_heads,
                         .head_dim = c.head_dim,
                         .n_ctx = options_.n_ctx});
    vk::compute_to_compute(cmd);
    ops_.attention(cmd, {.q = w.q,
                         .positions = w.positions,
                         .k_cache = k_cache_[layer],
                         .v_cache = v_cache_[layer],
                         .out = w.attn,
                         .scratch = w.attn_scratch,
                         .tokens = B,
                         .kv_len = n_past_ + B,
                         .params = attention_params(c)});
    vk::compute_to_compute(cmd);
    project(L.wo, w.attn, w.o);
    vk::compute_to_compute(cmd);
    record_residual_add(cmd, w.o, B * c.n_embd);
}

// h = rms_norm(x); ids, weights = route(W_router h). The lookahead (decode, offloading)
// runs a later layer's norm and router on the residual stream as it is now, into buffers
// of its own: a guess at the experts that layer will choose.
void GpuModel::record_router(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B, bool lookahead) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    const vk::Buffer& h = lookahead ? w.pred_h : w.h;
    const vk::Buffer& logits = lookahead ? w.pred_logits : w.router_logits;
    ops_.rms_norm(
        cmd, {.x = w.x, .weight = L.ffn_norm.buffer, .y = h, .n = c.n_embd, .rows = B, .eps = c.rms_eps});
    vk::compute_to_compute(cmd);
    if (B == 1)
        mat_.matvec(cmd, L.router.matrix(), {.buffer = &h}, {.buffer = &logits});
    else
        mat_.matmul(cmd, L.router.matrix(), {.buffer = &h}, {.buffer = &logits}, B);
    vk::compute_to_compute(cmd);
    ops_.router(cmd, {.logits = logits,
                      .ids = lookahead ? w.pred_ids : w.ids,
                      .weights = lookahead ? w.pred_weights : w.weights,
                      .bias = std::nullopt,
                      .tokens = B,
                      .n_experts = c.n_experts,
                      .top_k = c.n_experts_used,
                      .function = c.traits.router,
                      .renormalize = c.traits.router_renormalize});
    vk::compute_to_compute(cmd);
}

// x += Σ_k w_k · W_down[e_k] · swiglu(W_gate[e_k] h, W_up[e_k] h), one token, no host sync.
void GpuModel::record_experts_decode(vk::CommandBuffer& cmd, std::uint32_t layer) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    const std::uint32_t K = c.n_experts_used, E = c.n_embd;
    const vk::Buffer& residency = offloading() ? offload_->residency(layer) : w.residency;
    kernels::record_expert_slots(pipelines_, cmd,
                                 {.ids = w.ids,
                                  .residency = residency,
                                  .gate_offsets = w.gate_off,
                                  .up_offsets = w.up_off,
                                  .down_offsets = w.down_off,
                                  .routes = K,
                                  .n_experts = c.n_experts,
                                  .gate_bytes = L.gate.expert_bytes,
                                  .up_bytes = L.up.expert_bytes,
                                  .down_bytes = L.down.expert_bytes});
    vk::compute_to_compute(cmd);
    record_decode_ffn(cmd, layer);
    ops_.moe_combine(cmd,
                     {.x = w.x, .expert_out = w.d, .weights = w.weights, .tokens = 1, .n = E, .top_k = K});
    vk::compute_to_compute(cmd);
}

// d[k] = W_down[k] · act(W_gate[k] h, W_up[k] h) for the K routes whose weight offsets are
// in gate_off / up_off / down_off.
void GpuModel::record_decode_ffn(vk::CommandBuffer& cmd, std::uint32_t layer) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    const std::uint32_t K = c.n_experts_used, F = c.n_ff_expert, E = c.n_embd;
    const bool timed = ffn_timer_ && !pass_timer_armed_;  // for the cost model (auto)
    if (timed) {
        ffn_timer_->reset(cmd, 0, 2);
        ffn_timer_->write(cmd, 0, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    }
    mat_.expert_matvec(cmd, L.gate.matrices(), w.gate_off, K, {.buffer = &w.h},
                       {.buffer = &w.g, .slot_stride = F});
    mat_.expert_matvec(cmd, L.up.matrices(), w.up_off, K, {.buffer = &w.h},
                       {.buffer = &w.u, .slot_stride = F});
    vk::compute_to_compute(cmd);
    ops_.glu(cmd, {.gate = w.g,
                   .up = w.u,
                   .out = w.a,
                   .n = K * F,
                   .kind = c.traits.activation == Activation::SwiGLU ? kernels::Glu::SwiGLU
                                                                     : kernels::Glu::GeGLU});
    vk::compute_to_compute(cmd);
    mat_.expert_matvec(cmd, L.down.matrices(), w.down_off, K, {.buffer = &w.a, .slot_stride = F},
                       {.buffer = &w.d, .slot_stride = E});
    if (timed) {
        ffn_timer_->write(cmd, 1, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
        pass_timer_armed_ = true;
    }
    vk::compute_to_compute(cmd);
}

// The same for a batch: the router's ids come back to the host, which groups the routes
// by expert; one expert matmul per weight serves every group. When offloading, the
// experts go through the slots in chunks of at most the slot count; the GLU writes a
// separate buffer, so running it over every route per chunk changes nothing already done.
void GpuModel::record_experts_prefill(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    const std::uint32_t K = c.n_experts_used, F = c.n_ff_expert, E = c.n_embd, routes = B * K;

    const bool cpu_side = cpu_experts_ != nullptr;  // cpu, auto or cpu_moe: the CPU may take misses
    const Routes r = read_routes(cmd, routes, false, cpu_side ? B : 0);
    if (miss_cost_) follow_measurements();  // the read-back waited: earlier work has finished
    const std::vector<std::int32_t>& ids = r.ids;
    // routes grouped by expert, in route order within a group (deterministic).
    std::vector<std::vector<std::uint32_t>> by_expert(c.n_experts);
    for (std::uint32_t i = 0; i < routes; ++i) by_expert[ids[i]].push_back(i);
    std::vector<std::uint32_t> used;  // experts with routes, ascending
    for (std::uint32_t e = 0; e < c.n_experts; ++e)
        if (!by_expert[e].empty()) used.push_back(e);
    const std::vector<std::uint32_t> on_cpu =
        cpu_side ? take_cpu_experts(layer, used, by_expert) : std::vector<std::uint32_t>{};
    // Offloading with more experts than slots: they stream through the slots in chunks.
    // With two or more slots, chunks of half the slots alternate between two command
    // buffers and staging areas, so the next chunk's copies (transfer queue) run while this
    // chunk computes; the compute itself stays in order (a barrier opens each chunk).
    const std::uint32_t S = offloading() ? options_.expert_slots : 0;
    const bool streaming = offloading() && used.size() > S;
    const bool double_buffered = streaming && S >= 2;
    const std::size_t chunk = !offloading() ? used.size() : double_buffered ? S / 2 : S;
    vk::CommandBuffer* cmds[2] = {&cmd, double_buffered ? prefill_cmd_.get() : &cmd};
    const std::uint64_t table = std::uint64_t(c.n_experts) * sizeof(kernels::gpu::ExpertGroup);
    const auto glu = c.traits.activation == Activation::SwiGLU ? kernels::Glu::SwiGLU : kernels::Glu::GeGLU;

    cmd.begin();
    std::span<const std::uint32_t> in_flight;  // the previous chunk's experts, while it computes
    std::size_t index = 0;
    for (std::size_t first = 0; first < used.size(); first += chunk, ++index) {
        const std::span<const std::uint32_t> experts(used.data() + first,
                                                     std::min(chunk, used.size() - first));
        const bool last = first + experts.size() >= used.size();
        vk::CommandBuffer& cb = *cmds[index % 2];
        if (index > 0) {
            cb.begin();  // waits for the chunk that last used this buffer (its slots get reused)
            vk::compute_to_compute(cb);
        }
        std::vector<std::uint32_t> slots(experts.begin(), experts.end());  // resident: slot = expert
        std::uint64_t ready = 0;
        if (offloading()) {
            const ExpertOffload::Placement placement = offload_->require(
                layer, experts, {}, double_buffered ? in_flight : std::span<const std::uint32_t>{});
            slots = placement.slots;
            ready = placement.ready;
        }
        // This chunk's groups and routes go to its own staging area (the other one may still
        // be copied from).
        const std::uint64_t area = index % 2 == 0 ? w.staging_groups : w.staging_second_area;
        std::byte* staging = w.staging.bytes().data() + area;
        auto* gate_groups = reinterpret_cast<kernels::gpu::ExpertGroup*>(staging);
        auto* up_groups = reinterpret_cast<kernels::gpu::ExpertGroup*>(staging + table);
        auto* down_groups = reinterpret_cast<kernels::gpu::ExpertGroup*>(staging + 2 * table);
        const std::uint64_t routes_at = area + 3 * table;
        auto* route_list = reinterpret_cast<std::uint32_t*>(w.staging.bytes().data() + routes_at);
        std::uint32_t n_groups = 0, begin = 0, max_routes = 0;
        for (std::size_t i = 0; i < experts.size(); ++i) {
            const std::vector<std::uint32_t>& rs = by_expert[experts[i]];
            const std::uint32_t count = std::uint32_t(rs.size());
            std::copy(rs.begin(), rs.end(), route_list + begin);
            gate_groups[n_groups] = {slots[i] * L.gate.expert_bytes, begin, count, 0};
            up_groups[n_groups] = {slots[i] * L.up.expert_bytes, begin, count, 0};
            down_groups[n_groups] = {slots[i] * L.down.expert_bytes, begin, count, 0};
            begin += count;
            max_routes = std::max(max_routes, count);
            ++n_groups;
        }
        const std::uint64_t bytes = std::uint64_t(n_groups) * sizeof(kernels::gpu::ExpertGroup);
        vk::compute_to_transfer(cb);
        cb.copy(w.staging, w.groups_gate, {area, 0, bytes});
        cb.copy(w.staging, w.groups_up, {area + table, 0, bytes});
        cb.copy(w.staging, w.groups_down, {area + 2 * table, 0, bytes});
        cb.copy(w.staging, w.routes, {routes_at, 0, begin * 4ull});
        vk::transfer_to_compute(cb);
        // The cost model's prefill GPU rate: one chunk's expert FFN timed at a time.
        const bool timed = index == 0 && ffn_timer_ && !chunk_timer_armed_;
        if (timed) {
            ffn_timer_->reset(cb, 2, 2);
            ffn_timer_->write(cb, 2, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
        }
        const kernels::Activations h{.buffer = &w.h, .token_stride = E};
        mat_.expert_matmul(cb, L.gate.matrices(), w.groups_gate, n_groups, w.routes, max_routes, K, h,
                           {.buffer = &w.g, .token_stride = K * F, .slot_stride = F});
        mat_.expert_matmul(cb, L.up.matrices(), w.groups_up, n_groups, w.routes, max_routes, K, h,
                           {.buffer = &w.u, .token_stride = K * F, .slot_stride = F});
        vk::compute_to_compute(cb);
        ops_.glu(cb, {.gate = w.g, .up = w.u, .out = w.a, .n = B * K * F, .kind = glu});
        vk::compute_to_compute(cb);
        mat_.expert_matmul(cb, L.down.matrices(), w.groups_down, n_groups, w.routes, max_routes, K,
                           {.buffer = &w.a, .token_stride = K * F, .slot_stride = F},
                           {.buffer = &w.d, .token_stride = K * E, .slot_stride = E});
        if (timed) {
            ffn_timer_->write(cb, 3, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
            chunk_timer_armed_ = true;
            chunk_timed_bytes_ =
                experts.size() * (L.gate.expert_bytes + L.up.expert_bytes + L.down.expert_bytes);
        }
        vk::compute_to_compute(cb);
        if (last && &cb == &cmd) {  // the rest of the layer follows in cmd
            pending_ready_ = std::max(pending_ready_, ready);
            break;
        }
        // Submitted now, waiting on the GPU for its own copies only; the host goes on to
        // the next chunk's copies at once.
        cb.submit(ready ? vk::Submit{.waits = {{&offload_->timeline(), ready}}} : vk::Submit{});
        in_flight = experts;
        if (last) {
            cmd.begin();  // waits for the chunk before; the one just submitted runs before what follows
            vk::compute_to_compute(cmd);
        }
    }
    if (!on_cpu.empty()) {
        std::vector<ExpertRoute> cpu_routes;
        for (std::uint32_t e : on_cpu)
            for (std::uint32_t i : by_expert[e]) cpu_routes.push_back({i / K, e, r.weights[i]});
        run_cpu_routes(cmd, layer, B, w.d, r, cpu_routes, used.empty());
        return;
    }
    ops_.moe_combine(cmd,
                     {.x = w.x, .expert_out = w.d, .weights = w.weights, .tokens = B, .n = E, .top_k = K});
    vk::compute_to_compute(cmd);
}

// x += delta over n floats (shaders/elementwise.comp, add).
void GpuModel::record_residual_add(vk::CommandBuffer& cmd, const vk::Buffer& delta, std::uint32_t n) {
    const vk::Pipeline& add = pipelines_.get({.shader = "elementwise_add",
                                              .spec_constants = {kElementwiseGroup},
                                              .push_constant_bytes = sizeof(ElementwisePush),
                                              .storage_buffers = 3});
    const ElementwisePush pc{n, 1.f};
    cmd.dispatch({.pipeline = &add,
                  .buffers = {work_->x, delta, work_->x},
                  .push = vk::push_bytes(pc),
                  .groups = {vk::group_count(n, kElementwiseGroup)}});
    vk::compute_to_compute(cmd);
}

}  // namespace ferry::model
