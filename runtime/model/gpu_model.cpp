#include "model/gpu_model.h"

#include "base/error.h"
#include "model/gpu_blocks.h"
#include "model/gpu_model_work.h"
#include "vk/barrier.h"
#include "vk/transfer.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace ferry::model {

std::uint64_t GpuModel::max_pool_bytes(const vk::Device& device) {
    const vk::DeviceLimits& limits = device.limits();
    std::uint64_t max_pool = std::min<std::uint64_t>(limits.max_storage_buffer_range, 1ull << 32);
    if (limits.max_memory_allocation) max_pool = std::min(max_pool, limits.max_memory_allocation);
    return max_pool;
}

namespace {

// The attention scratch the largest layer needs (layers may differ: Gemma 4).
std::uint64_t attention_scratch_bytes(const ModelConfig& c) {
    std::uint64_t bytes = 0;
    for (std::uint32_t l = 0; l < c.n_layers; ++l)
        bytes = std::max(bytes, kernels::BlockOps::attention_scratch_bytes(attention_params(c, l)));
    return bytes;
}

}  // namespace

std::uint64_t work_buffer_bytes(const ModelConfig& c, std::uint32_t batch, bool host_memory_counts,
                                std::uint64_t offload_expert_bytes) {
    const std::uint64_t scratch = attention_scratch_bytes(c);
    const GpuModel::WorkBytes w = GpuModel::work_bytes(c, batch, scratch);
    // Offloading adds a residency table per layer and the upload ring (host memory); the
    // driver's own small allocations (pipelines, descriptor pools) are not ours to count.
    if (offload_expert_bytes == 0) return w.device + (host_memory_counts ? w.host : 0);
    const std::uint64_t tables = std::uint64_t(c.n_moe_layers()) * c.n_experts * 4;
    const std::uint64_t ring =
        offload::ExpertOffload::ring_bytes_bound(c.n_experts_used, offload_expert_bytes);
    return w.device + tables + (host_memory_counts ? w.host + ring : 0);
}

namespace {

offload::ExpertEngineOptions engine_options(const GpuModelOptions& o) {
    return {.expert_slots = o.expert_slots,
            .cache_policy = o.cache_policy,
            .prefetch = o.prefetch,
            .predictor = o.predictor,
            .miss_policy = o.miss_policy,
            .cpu_moe = o.cpu_moe,
            .threads = o.threads,
            .expert_source = o.expert_source};
}

}  // namespace

GpuModel::GpuModel(vk::Device& device, const gguf::File& file, const GpuModelOptions& options,
                   const LoadProgress& progress)
    : device_(device),
      file_(file),
      config_(read_config(file)),
      options_(options),
      recipe_(recipe_for(config_, file, options.recipe)),
      decode_many_ok_(rows_bindable(config_, device)),
      ops_(device),
      mat_(device),
      pipelines_(device) {
    const ModelConfig& c = config_;
    const BoundTensors tensors = recipe_.tensors(TensorTable(file), c);
    expert_layout_ = recipe_.experts(file, c);
    if (options_.n_ctx == 0) fail("--ctx must be at least 1");
    if (options_.max_batch == 0) fail("the prefill batch must hold at least 1 token");
    if (c.head_dim % 4)
        fail("{}: head size {} is not a multiple of 4, which the GPU kernels need", file.name(), c.head_dim);
    check_gpu_expert_types(file, expert_layout_);
    const std::uint32_t slots = options_.cpu_moe ? 1 : options_.expert_slots;
    const bool resident = slots == 0 || slots >= c.n_experts;
    const std::uint64_t dense = dense_bytes(tensors);
    const std::uint64_t total = dense + (resident ? offload::ExpertPools::resident_bytes(expert_layout_) : 0);
    weights_ = upload_weights(device, file, tensors, progress, total);
    const offload::PoolProgress pools_progress = [&](std::uint64_t done, std::uint64_t) {
        if (progress) progress(dense + done, total);
    };
    engine_ = std::make_unique<offload::ExpertEngine>(device, file, expert_layout_, engine_options(options_),
                                                      pools_progress);
    if (options_.route_override) engine_->set_route_override(options_.route_override);
    own_sequence_ = std::make_unique<SequenceState>(device, c, options_.n_ctx, options_.max_batch);
    sequence_ = own_sequence_.get();
    work_ = std::make_unique<Work>(device, c, options_.max_batch, attention_scratch_bytes(c));
    std::vector<std::uint32_t> identity(c.n_experts);
    std::iota(identity.begin(), identity.end(), 0u);
    vk::upload(device, work_->residency, std::span<const std::uint32_t>(identity));
    cmd_ = std::make_unique<vk::CommandBuffer>(device, vk::QueueKind::Compute);
    blocks_ = std::make_unique<GpuBlocks>(c, weights_, *work_, ops_, mat_, pipelines_, *engine_);
    engine_->start(*blocks_, *cmd_, work_->staging);
}

GpuModel::~GpuModel() = default;

std::uint64_t GpuModel::device_bytes() const {
    return device_.accountant().current();
}

std::unique_ptr<SequenceState> GpuModel::new_sequence() {
    return std::make_unique<SequenceState>(device_, config_, options_.n_ctx, options_.max_batch);
}

void GpuModel::check_token_ids(std::span<const std::int32_t> tokens) const {
    for (std::int32_t t : tokens)
        if (t < 0 || std::uint32_t(t) >= config_.n_vocab)
            fail("token id {} is outside the vocabulary (0..{})", t, config_.n_vocab - 1);
}

std::uint32_t GpuModel::truncate(std::uint32_t n) {
    const std::uint32_t kept = sequence_->truncate(n);
    if (sequence_->restore_pending())
        copy_states([&](vk::CommandBuffer& cmd) { sequence_->restore_checkpoint(cmd); });
    return kept;
}

void GpuModel::copy_states(const std::function<void(vk::CommandBuffer&)>& record) {
    vk::CommandBuffer& cmd = *cmd_;
    cmd.begin();
    vk::compute_to_transfer(cmd);
    record(cmd);
    vk::transfer_to_compute(cmd);
    engine_->submit_and_wait(cmd);
}

void GpuModel::use_sequence(SequenceState* sequence) {
    if (sequence && sequence->n_ctx() != options_.n_ctx)
        fail("a sequence of {} positions cannot run on a model made for --ctx {}", sequence->n_ctx(),
             options_.n_ctx);
    sequence_ = sequence ? sequence : own_sequence_.get();
}

void GpuModel::set_prediction_observer(PredictionObserver observer) {
    engine_->set_prediction_observer(std::move(observer));
}

std::vector<float> GpuModel::forward(std::span<const std::int32_t> tokens, bool all_logits) {
    if (std::uint64_t(n_past()) + tokens.size() > options_.n_ctx)
        fail("context full: {} tokens in the cache + {} new > --ctx {}", n_past(), tokens.size(),
             options_.n_ctx);
    check_token_ids(tokens);
    std::vector<float> logits;
    // A requested checkpoint inside these tokens cuts a batch there.
    const std::uint32_t start = n_past(), request = sequence_->checkpoint_request();
    const bool checkpoint = sequence_->has_recurrent() && request > start && request <= start + tokens.size();
    if (request <= start + tokens.size()) sequence_->request_checkpoint(0);  // reached now, or passed
    for (std::size_t first = 0; first < tokens.size();) {
        std::size_t n = std::min<std::size_t>(options_.max_batch, tokens.size() - first);
        if (checkpoint && start + first < request) n = std::min<std::size_t>(n, request - start - first);
        const bool last_batch = first + n == tokens.size();
        forward_batch(tokens.subspan(first, n), all_logits, logits);
        if (!all_logits && !last_batch) logits.clear();
        first += n;
        if (checkpoint && n_past() == request)
            copy_states([&](vk::CommandBuffer& cmd) { sequence_->save_checkpoint(cmd); });
    }
    return logits;
}

void GpuModel::forward_batch(std::span<const std::int32_t> tokens, bool all_logits, std::vector<float>& logits,
                             std::span<SequenceState* const> rows) {
    const ModelConfig& c = config_;
    Work& w = *work_;
    const std::uint32_t B = std::uint32_t(tokens.size()), n_past = rows.empty() ? sequence_->n_past() : 0;
    vk::CommandBuffer& cmd = *cmd_;
    engine_->begin_batch(B, n_past);
    tokens_processed_ += B;

    // Token ids and positions (n_past.., or each row's own) into the staging buffer, then
    // to the GPU; rows also get their position alone in an aligned slot.
    auto* staged = w.staging.as<std::int32_t>().data();
    std::memcpy(staged, tokens.data(), B * 4);
    for (std::uint32_t t = 0; t < B; ++t)
        staged[B + t] = std::int32_t(rows.empty() ? n_past + t : rows[t]->n_past());
    cmd.begin();
    cmd.copy(w.staging, w.tokens, {0, 0, B * 4ull});
    cmd.copy(w.staging, w.positions, {B * 4ull, 0, B * 4ull});
    for (std::uint32_t t = 0; t < rows.size(); ++t)
        cmd.copy(w.staging, w.row_positions, {(B + t) * 4ull, t * Work::kRowPositionStride, 4});
    vk::transfer_to_compute(cmd);

    blocks_->begin_batch(cmd, *sequence_, B, all_logits, bool(observer_), rows);
    recipe_.gpu_forward(*blocks_);  // embed, layers, output head: logits in w.logits

    vk::compute_to_transfer(cmd);
    const std::uint32_t n_out = all_logits ? B : 1;
    const std::uint64_t bytes = std::uint64_t(n_out) * c.n_vocab * 4;
    cmd.copy(w.logits, w.readback, {0, 0, bytes});
    if (observer_) {
        const std::uint64_t route_bytes = std::uint64_t(c.n_moe_layers()) * B * c.n_experts_used * 4;
        cmd.copy(w.route_ids, w.route_readback, {0, 0, route_bytes});
        cmd.copy(w.route_weights, w.route_readback, {0, route_bytes, route_bytes});
    }
    vk::transfer_to_host(cmd);
    engine_->submit_and_wait(cmd);
    w.readback.invalidate();
    const float* out = w.readback.as<float>().data();
    logits.insert(logits.end(), out, out + std::size_t(n_out) * c.n_vocab);
    if (observer_) report_routes(B);
    if (rows.empty()) sequence_->advance(B);
    for (SequenceState* s : rows) s->advance(1);
}

bool GpuModel::rows_bindable(const ModelConfig& c, const vk::Device& device) {
    const std::uint64_t align = std::max<std::uint64_t>(device.limits().min_storage_buffer_offset_alignment, 1);
    // Rows bound at their offset (attention, conv, delta rule, the experts' GLU) must meet the
    // binding alignment; rows given to matvec as float offsets a multiple of 4 (quant blocks).
    std::vector<std::uint64_t> bound = {std::uint64_t(c.n_heads) * c.head_dim, std::uint64_t(c.n_kv_heads) * c.head_dim,
                                        std::uint64_t(c.n_experts_used) * c.n_ff_expert};
    std::vector<std::uint64_t> offsets = {c.n_embd, c.n_vocab, c.n_ff_expert, c.n_ff_shared, c.n_ff_dense,
                                          2ull * c.n_heads * c.head_dim};
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {  // per-layer shapes (Gemma 4)
        const LayerAttention a = layer_attention(c, l);
        bound.insert(bound.end(), {std::uint64_t(c.n_heads) * a.head_dim, std::uint64_t(a.n_kv_heads) * a.head_dim});
    }
    if (c.has_linear_attention()) {
        bound.insert(bound.end(), {c.ssm_mix_width(), c.ssm_v_heads, c.ssm_inner()});
        offsets.push_back(c.fused_projection_width());
    }
    if (c.has_mla())  // rows of the latent attention's activations
        offsets.insert(offsets.end(), {c.fused_projection_width(), c.q_lora_rank, c.kv_lora_rank + c.rope_dims,
                                       c.kv_lora_rank, std::uint64_t(c.n_heads) * c.mla_value_dim});
    offsets.insert(offsets.end(), bound.begin(), bound.end());
    return Work::kRowPositionStride % align == 0 && c.n_experts_used * 4 <= Work::kRowPositionStride &&
           std::all_of(bound.begin(), bound.end(), [&](std::uint64_t w) { return w * 4 % align == 0; }) &&
           std::all_of(offsets.begin(), offsets.end(), [](std::uint64_t w) { return w % 4 == 0; });
}

std::vector<float> GpuModel::decode_many(std::span<SequenceState* const> sequences,
                                         std::span<const std::int32_t> tokens) {
    if (sequences.size() != tokens.size()) fail("decode_many: {} sequences for {} tokens", sequences.size(), tokens.size());
    if (sequences.size() > options_.max_batch)
        fail("decode_many: {} sequences, more than the batch of {}", sequences.size(), options_.max_batch);
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        if (sequences[i]->n_ctx() != options_.n_ctx || sequences[i]->n_past() >= options_.n_ctx)
            fail("decode_many: sequence {} has no room in a context of {}", i, options_.n_ctx);
        if (std::find(sequences.begin(), sequences.begin() + std::ptrdiff_t(i), sequences[i]) !=
            sequences.begin() + std::ptrdiff_t(i))
            fail("decode_many: sequence {} is listed twice", i);
    }
    check_token_ids(tokens);
    std::vector<float> logits;
    if (sequences.size() > 1 && decode_many_ok_ && !observer_) {
        forward_batch(tokens, true, logits, sequences);
        return logits;
    }
    struct Restore {  // the sequence use_sequence() chose, after the loop or an exception
        SequenceState*& current;
        SequenceState* const saved = current;
        ~Restore() { current = saved; }
    } restore{sequence_};
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        sequence_ = sequences[i];
        forward_batch(tokens.subspan(i, 1), false, logits);
    }
    return logits;
}

void GpuModel::report_routes(std::uint32_t B) {
    const ModelConfig& c = config_;
    const std::uint32_t K = c.n_experts_used;
    Work& w = *work_;
    w.route_readback.invalidate();
    const std::int32_t* ids = w.route_readback.as<std::int32_t>().data();
    const float* weights = w.route_readback.as<float>().data() + std::size_t(c.n_moe_layers()) * B * K;
    cpu::RouterChoice choice;
    for (std::uint32_t t = 0; t < B; ++t)
        for (std::uint32_t l = 0; l < c.n_moe_layers(); ++l) {  // the engine's layers
            const std::size_t at = (std::size_t(l) * B + t) * K;
            choice.experts.assign(ids + at, ids + at + K);
            choice.weights.assign(weights + at, weights + at + K);
            observer_(l, n_past() + t, choice);
        }
}

// Mirrors Work's constructor buffer by buffer (tests compare it with the accountant).
GpuModel::WorkBytes GpuModel::work_bytes(const ModelConfig& c, std::uint32_t batch,
                                         std::uint64_t attn_scratch_bytes) {
    const std::uint64_t B = batch, E = c.n_embd, K = c.n_experts_used, F = c.n_ff_expert, X = c.n_experts,
                        V = c.n_vocab, L = c.n_moe_layers(), S = std::max(c.n_ff_shared, c.n_ff_dense);
    const std::uint64_t qd = std::uint64_t(c.n_heads) * c.head_dim,
                        kvd = std::uint64_t(c.n_kv_heads) * c.head_dim;
    const std::uint64_t group = sizeof(kernels::gpu::ExpertGroup);
    const auto dev = [](std::uint64_t bytes) { return std::max<std::uint64_t>(bytes, 16); };
    WorkBytes w;
    for (std::uint64_t bytes : {B * 4,
                                B * 4,  // tokens, positions
                                B * Work::kRowPositionStride,
                                B * Work::kRowPositionStride,  // per-sequence positions, expert ids
                                B * E * 4,
                                B * E * 4,
                                B * E * 4,  // x, h, o
                                B * qd * 4,
                                B * qd * 4,  // q, attn
                                B * kvd * 4,
                                B * kvd * 4,  // k, v
                                attn_scratch_bytes,
                                B * X * 4,  // scratch, router logits
                                B * K * 4,
                                B * K * 4,  // ids, weights
                                K * 4,
                                K * 4,
                                K * 4,
                                X * 4,  // offsets, residency
                                X * group,
                                X * group,
                                X * group,  // groups
                                B * K * 4,  // routes
                                B * K * F * 4,
                                B * K * F * 4,
                                B * K * F * 4,  // g, u, a
                                B * K * E * 4,
                                B * S * 4,
                                B * S * 4,  // shared expert (or dense FFN) gate, up
                                B * 4,      // gate logits
                                K * E * 4,
                                B * V * 4,  // d, d_routes, logits
                                L * B * K * 4,
                                L * B * K * 4,  // routing record
                                E * 4,
                                X * 4,
                                K * 4,
                                K * 4})  // lookahead
        w.device += dev(bytes);
    if (c.has_linear_attention()) {  // gpu_model_work.h's linear-attention buffers
        const std::uint64_t C = c.ssm_mix_width(), Vd = c.ssm_inner(), Hv = c.ssm_v_heads;
        for (std::uint64_t bytes : {B * c.fused_projection_width() * 4, B * qd * 4, B * C * 4, B * Vd * 4,
                                    B * Hv * 4, B * Hv * 4, B * Vd * 4})
            w.device += dev(bytes);
    }
    if (c.traits.dense_beside_experts) w.device += dev(B * E * 4);  // the saved residual
    if (c.has_mla())  // gpu_model_work.h's latent-attention buffers
        for (std::uint64_t bytes : {B * c.fused_projection_width() * 4, B * c.q_lora_rank * 4,
                                    B * (c.kv_lora_rank + c.rope_dims) * 4, B * c.kv_lora_rank * 4,
                                    B * c.n_heads * c.mla_value_dim * 4})
            w.device += dev(bytes);
    const std::uint64_t staging = 8 * B + 2 * (3 * X * group + B * K * 4) + 3 * K * 4 + B * K * 4 + B * E * 4;
    w.host = staging + std::max(B * V, 2 * B * K + 2 * K + B * E) * 4 + 2 * L * B * K * 4;
    return w;
}

}  // namespace ferry::model
