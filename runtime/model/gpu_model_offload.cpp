// GpuModel's offloaded MoE paths: reading the router's choice back, the lookahead gate,
// experts run in passes through too few slots, and hybrid execution (misses computed on
// the CPU while the GPU computes the cached experts). gpu_model.cpp has the resident path.
#include "base/error.h"
#include "base/timing.h"
#include "model/cpu_rate.h"
#include "model/gpu_model.h"
#include "model/gpu_model_work.h"
#include "vk/barrier.h"
#include "vk/copy_rate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

namespace ferry::model {

GpuModel::Routes GpuModel::read_routes(vk::CommandBuffer& cmd, std::uint32_t routes, bool predicted,
                                       std::uint32_t h_rows) {
    Work& w = *work_;
    const std::uint64_t bytes = routes * 4ull, K = config_.n_experts_used;
    vk::compute_to_transfer(cmd);
    cmd.copy(w.ids, w.readback, {0, 0, bytes});
    cmd.copy(w.weights, w.readback, {0, bytes, bytes});
    if (predicted) {
        cmd.copy(w.pred_ids, w.readback, {0, 2 * bytes, K * 4});
        cmd.copy(w.pred_weights, w.readback, {0, 2 * bytes + K * 4, K * 4});
    }
    const std::uint64_t h_at = 2 * bytes + 2 * K * 4, h_bytes = std::uint64_t(h_rows) * config_.n_embd * 4;
    if (h_rows) cmd.copy(w.h, w.readback, {0, h_at, h_bytes});
    vk::transfer_to_host(cmd);
    submit_and_wait(cmd);
    w.readback.invalidate();
    Routes r;
    const std::int32_t* ids = w.readback.as<std::int32_t>().data();
    const float* weights = w.readback.as<float>().data() + routes;
    r.ids.assign(ids, ids + routes);
    r.weights.assign(weights, weights + routes);
    if (predicted) {
        const std::int32_t* p = ids + 2 * routes;
        const float* pw = reinterpret_cast<const float*>(p + K);
        for (std::uint64_t k = 0; k < K; ++k)
            if (p[k] >= 0 && std::uint32_t(p[k]) < config_.n_experts) {
                r.predicted.push_back(std::uint32_t(p[k]));
                r.predicted_weights.push_back(pw[k]);
            }
    }
    if (h_rows) {
        const float* h = reinterpret_cast<const float*>(w.readback.bytes().data() + h_at);
        r.h.assign(h, h + h_bytes / 4);
    }
    for (std::int32_t e : r.ids)
        if (e < 0 || std::uint32_t(e) >= config_.n_experts) fail("router returned expert id {}", e);
    return r;
}

void GpuModel::override_routes(vk::CommandBuffer& cmd, std::uint32_t layer, Routes& r) {
    const std::uint32_t K = config_.n_experts_used;
    if (!options_.route_override(layer, n_past_, r.ids, r.weights)) return;
    for (std::uint32_t k = 0; k < K; ++k) {
        const std::int32_t e = r.ids[k];
        if (e < 0 || std::uint32_t(e) >= config_.n_experts || std::count(r.ids.begin(), r.ids.end(), e) != 1)
            fail(
                "forced routing for layer {} gives expert id {} (the model has {} experts; ids must be "
                "distinct)",
                layer, e, config_.n_experts);
    }
    // The second prefill staging area: decode never uses it otherwise.
    Work& w = *work_;
    std::byte* at = w.staging.bytes().data() + w.staging_second_area;
    std::memcpy(at, r.ids.data(), K * 4);
    std::memcpy(at + K * 4, r.weights.data(), K * 4);
    cmd.begin();
    cmd.copy(w.staging, w.ids, {w.staging_second_area, 0, K * 4ull});
    cmd.copy(w.staging, w.weights, {w.staging_second_area + K * 4ull, 0, K * 4ull});
    vk::transfer_to_compute(cmd);
    submit_and_wait(cmd);
}

void GpuModel::decode_offloaded_layer(vk::CommandBuffer& cmd, std::uint32_t layer) {
    const ModelConfig& c = config_;
    const GpuLayerWeights& L = weights_.layers[layer];
    Work& w = *work_;
    const std::uint32_t K = c.n_experts_used, E = c.n_embd, S = offload_->slots();
    // With fewer slots than top-k the next layer's own passes would evict a prefetched
    // expert before its turn (measured: two thirds wasted), so no prefetch then.
    // Nor where the CPU outruns this device even at cached experts: nothing copied would be used.
    const bool warm = !miss_cost_ || miss_cost_->gpu_worth_caching(K, cpu_experts_->expert_bytes(layer));
    const bool predict = options_.prefetch && !options_.cpu_moe && warm && S >= K && offload_->predicting();
    const bool gate = predict && offload_->has_gate() && layer + 1 < c.n_layers;
    if (gate) record_router(cmd, layer + 1, 1, true);  // the lookahead gate
    Routes r = read_routes(cmd, K, gate, cpu_experts_ ? 1 : 0);
    follow_measurements();  // the read-back waited: everything submitted before has finished
    if (options_.route_override) override_routes(cmd, layer, r);
    std::vector<std::uint32_t> experts(r.ids.begin(), r.ids.end());  // distinct: top-k
    if (!predicted_.empty() && predicted_layer_ == layer) offload_->score_prediction(predicted_, experts);
    predicted_.clear();
    std::uint32_t target = layer;  // the layer the prefetches are for
    if (predict) {
        offload_->observe(layer, experts, r.weights);
        if (gate) offload_->feed_gate(layer + 1, r.predicted, r.predicted_weights);
        predicted_ = offload_->predict(layer, prefetch_count(layer), target);
        predicted_layer_ = target;
        if (prediction_observer_ && !predicted_.empty())
            prediction_observer_(target, target > layer ? n_past_ : n_past_ + 1, predicted_);
    }

    // Which routes the CPU computes: all of them (--cpu-moe), or the split the cost model
    // gives, taking the lowest-weight misses and hits (the router ranks highest first).
    std::vector<bool> on_cpu(K, options_.cpu_moe);
    if (cpu_experts_ && !options_.cpu_moe) {
        std::vector<std::uint32_t> misses, hits;
        for (std::uint32_t k = 0; k < K; ++k)
            (offload_->resident(layer, experts[k]) ? hits : misses).push_back(k);
        const offload::CpuSplit split = miss_cost_->decode_split(
            std::uint32_t(misses.size()), std::uint32_t(hits.size()), cpu_experts_->expert_bytes(layer), S);
        for (std::uint32_t i = 0; i < split.misses; ++i) on_cpu[misses[misses.size() - 1 - i]] = true;
        for (std::uint32_t i = 0; i < split.hits; ++i) on_cpu[hits[hits.size() - 1 - i]] = true;
    }
    std::vector<std::uint32_t> gpu_routes;
    std::vector<ExpertRoute> cpu_routes;
    std::vector<std::uint32_t> cpu_ids;
    std::vector<float> cpu_weights;
    for (std::uint32_t k = 0; k < K; ++k) {
        if (!on_cpu[k]) {
            gpu_routes.push_back(k);
            continue;
        }
        cpu_routes.push_back({0, experts[k], r.weights[k]});
        cpu_ids.push_back(experts[k]);
        cpu_weights.push_back(r.weights[k]);
    }

    if (cpu_routes.empty() && K <= S) {  // every expert fits: the resident path's kernels, table-driven
        const ExpertOffload::Placement placement = offload_->require(layer, experts, r.weights);
        pending_ready_ = std::max(pending_ready_, placement.ready);
        if (!predicted_.empty()) offload_->prefetch(target, predicted_);
        cmd.begin();
        record_experts_decode(cmd, layer);
        return;
    }
    if (!cpu_ids.empty()) offload_->note_cpu_use(layer, cpu_ids, cpu_weights);

    // The GPU's routes in passes of at most S experts. Each pass runs the FFN over all K
    // routes (offsets written here; routes outside the pass read slot 0 and are discarded)
    // and keeps its own routes' rows: every row comes from the same kernel as when resident.
    auto* offsets = reinterpret_cast<std::uint32_t*>(w.staging.bytes().data() + w.staging_offsets);
    cmd.begin();
    for (std::size_t first = 0; first < gpu_routes.size(); first += S) {
        const std::size_t n = std::min<std::size_t>(S, gpu_routes.size() - first);
        if (first > 0) {  // this pass evicts the last one's experts: let it finish
            submit_and_wait(cmd);
            cmd.begin();
        }
        std::vector<std::uint32_t> pass(n);
        std::vector<float> pass_weights(n);
        for (std::size_t i = 0; i < n; ++i) {
            pass[i] = experts[gpu_routes[first + i]];
            pass_weights[i] = r.weights[gpu_routes[first + i]];
        }
        const ExpertOffload::Placement placement = offload_->require(layer, pass, pass_weights);
        pending_ready_ = std::max(pending_ready_, placement.ready);
        if (first == 0 && !predicted_.empty()) offload_->prefetch(target, predicted_);
        std::fill(offsets, offsets + 3 * K, 0u);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t k = gpu_routes[first + i], slot = placement.slots[i];
            offsets[k] = slot * L.gate.expert_bytes;
            offsets[K + k] = slot * L.up.expert_bytes;
            offsets[2 * K + k] = slot * L.down.expert_bytes;
        }
        vk::compute_to_transfer(cmd);
        cmd.copy(w.staging, w.gate_off, {w.staging_offsets, 0, K * 4ull});
        cmd.copy(w.staging, w.up_off, {w.staging_offsets + K * 4ull, 0, K * 4ull});
        cmd.copy(w.staging, w.down_off, {w.staging_offsets + 2 * K * 4ull, 0, K * 4ull});
        vk::transfer_to_compute(cmd);
        record_decode_ffn(cmd, layer);
        vk::compute_to_transfer(cmd);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t row = std::uint64_t(gpu_routes[first + i]) * E * 4;
            cmd.copy(w.d, w.d_routes, {row, row, E * 4ull});
        }
        vk::transfer_to_compute(cmd);
    }
    if (gpu_routes.empty() && !predicted_.empty()) offload_->prefetch(target, predicted_);
    if (!cpu_routes.empty()) {
        run_cpu_routes(cmd, layer, 1, w.d_routes, r, cpu_routes, gpu_routes.empty());
        // The CPU served these misses now; copy them in behind, off the critical path, so
        // the cache still learns what is hot (else only prefetch ever fills a slot).
        if (!options_.cpu_moe && warm) offload_->prefetch(layer, cpu_ids);
        return;
    }
    ops_.moe_combine(
        cmd, {.x = w.x, .expert_out = w.d_routes, .weights = w.weights, .tokens = 1, .n = E, .top_k = K});
    vk::compute_to_compute(cmd);
}

std::vector<std::uint32_t> GpuModel::take_cpu_experts(
    std::uint32_t layer, std::vector<std::uint32_t>& used,
    const std::vector<std::vector<std::uint32_t>>& by_expert) {
    std::vector<std::uint32_t> misses, hits;
    for (std::uint32_t e : used)
        (options_.cpu_moe || !offload_->resident(layer, e) ? misses : hits).push_back(e);
    offload::CpuSplit split{std::uint32_t(misses.size()), 0};
    if (!options_.cpu_moe) {  // the least-used ones of each kind first
        std::vector<std::uint32_t> miss_tokens, hit_tokens;
        for (auto [list, tokens] : {std::pair{&misses, &miss_tokens}, std::pair{&hits, &hit_tokens}}) {
            std::stable_sort(list->begin(), list->end(), [&](std::uint32_t a, std::uint32_t b) {
                return by_expert[a].size() < by_expert[b].size();
            });
            for (std::uint32_t e : *list) tokens->push_back(std::uint32_t(by_expert[e].size()));
        }
        split = miss_cost_->prefill_split(miss_tokens, hit_tokens, cpu_experts_->expert_bytes(layer));
    }
    std::vector<std::uint32_t> on_cpu(misses.begin(), misses.begin() + split.misses);
    on_cpu.insert(on_cpu.end(), hits.begin(), hits.begin() + split.hits);
    std::vector<std::uint32_t> on_gpu(misses.begin() + split.misses, misses.end());
    on_gpu.insert(on_gpu.end(), hits.begin() + split.hits, hits.end());
    std::sort(on_gpu.begin(), on_gpu.end());  // ascending, as the caller's chunks expect
    std::sort(on_cpu.begin(), on_cpu.end());
    used = std::move(on_gpu);
    offload_->note_cpu_use(layer, on_cpu, {});
    return on_cpu;
}

void GpuModel::run_cpu_routes(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B,
                              const vk::Buffer& expert_out, const Routes& r, std::span<const ExpertRoute> cpu,
                              bool gpu_idle) {
    const ModelConfig& c = config_;
    Work& w = *work_;
    const std::uint32_t K = c.n_experts_used, E = c.n_embd;
    // The CPU's routes get weight 0 on the GPU: moe_combine then leaves their rows alone.
    // (A token's K experts are distinct, so (token, expert) names one route.)
    std::vector<float> weights = r.weights;
    for (const ExpertRoute& route : cpu)
        for (std::uint32_t k = 0; k < K; ++k)
            if (std::uint32_t(r.ids[route.token * K + k]) == route.expert) weights[route.token * K + k] = 0.f;
    std::memcpy(w.staging.bytes().data() + w.staging_weights, weights.data(), weights.size() * 4);
    vk::compute_to_transfer(cmd);
    cmd.copy(w.staging, w.weights, {w.staging_weights, 0, weights.size() * 4ull});
    vk::transfer_to_compute(cmd);
    ops_.moe_combine(
        cmd, {.x = w.x, .expert_out = expert_out, .weights = w.weights, .tokens = B, .n = E, .top_k = K});
    vk::compute_to_compute(cmd);
    const auto t_submit = std::chrono::steady_clock::now();
    submit_compute(cmd);

    // The GPU runs the cached experts meanwhile.
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float>& out = cpu_out_;  // kept: decode comes here per layer and token
    out.assign(std::size_t(B) * E, 0.f);
    cpu_experts_->add_experts(layer, r.h, B, cpu, out);
    const double cpu_s = seconds_since(t0);
    finish_compute(cmd);

    std::memcpy(w.staging.bytes().data() + w.staging_cpu_out, out.data(), out.size() * 4);
    if (miss_cost_) {
        miss_cost_->observe_cpu(cpu.size() * cpu_experts_->expert_bytes(layer), cpu_s);
        // With no expert work in the submission, what the path took beyond the CPU's own
        // experts is its fixed cost: submission, wait, result staging.
        if (gpu_idle) miss_cost_->observe_cpu_fixed(seconds_since(t_submit) - cpu_s);
    }
    cmd.begin();
    vk::compute_to_transfer(cmd);
    cmd.copy(w.staging, w.o, {w.staging_cpu_out, 0, out.size() * 4ull});
    vk::transfer_to_compute(cmd);
    record_residual_add(cmd, w.o, B * E);
}

void GpuModel::follow_measurements() {
    if (!offload_) return;
    for (const LinkSample& sample : offload_->take_link_samples()) {
        if (miss_cost_) miss_cost_->observe_upload(sample.bytes, sample.seconds);
        const double rate = double(sample.bytes) / sample.seconds;
        if (std::isfinite(rate) && rate > 0) upload_rate_ += 0.2 * (rate - upload_rate_);
    }
    if (pass_timer_armed_) {
        if (const std::optional<double> s = ffn_timer_->seconds(0, 1)) {
            miss_cost_->observe_gpu_pass(*s);
            pass_timer_armed_ = false;
        }
    }
    if (chunk_timer_armed_) {
        if (const std::optional<double> s = ffn_timer_->seconds(2, 3)) {
            miss_cost_->observe_gpu_prefill(chunk_timed_bytes_, *s);
            chunk_timer_armed_ = false;
        }
    }
}

// Host -> device bytes per second of expert copies, measured once at start: the work
// staging buffer copied into layer 0's gate pool (still empty) on the transfer queue. A
// buffer of its own could break a tight budget where host-visible memory counts against it.
void GpuModel::measure_upload_rate() {
    const ExpertPool& pool = weights_.layers[0].gate;
    const vk::Buffer& staging = work_->staging;
    const std::uint64_t bytes = std::min(pool.buffer.size(), staging.size());
    const vk::CopyStep upload[] = {{&staging, &pool.buffer, {0, 0, bytes}}};
    upload_rate_ = double(bytes) / vk::time_copies(device_, vk::QueueKind::Transfer, upload, 3).seconds;
}

// How many predicted experts to copy ahead: as many as the link moves while one layer
// computes (measured: the host time between two layers' router read-backs, averaged), at
// least one, at most top-k. More would still be in flight when the next layer needs the
// slots' link for its demand misses.
std::uint32_t GpuModel::prefetch_count(std::uint32_t layer) {
    const auto now = std::chrono::steady_clock::now();
    if (last_layer_time_.time_since_epoch().count() != 0 && layer > 0) {
        const double dt = std::chrono::duration<double>(now - last_layer_time_).count();
        layer_seconds_ = layer_seconds_ == 0 ? dt : 0.8 * layer_seconds_ + 0.2 * dt;
    }
    last_layer_time_ = now;
    const GpuLayerWeights& L = weights_.layers[std::min(layer + 1, config_.n_layers - 1)];
    const double expert = double(L.gate.expert_bytes) + L.up.expert_bytes + L.down.expert_bytes;
    const double fits = layer_seconds_ * upload_rate_ / expert;
    return std::uint32_t(std::clamp(fits, 1.0, double(config_.n_experts_used)));
}

// Hybrid start-up: the CPU expert kernels and the cost model's first figures, measured
// here and now: the CPU's expert rate, host -> device copies (into layer 0's gate pool,
// still empty), the GPU's expert FFN and one empty submission (the CPU path's extra one).
void GpuModel::start_hybrid(const gguf::File& file) {
    const ModelConfig& c = config_;
    Work& w = *work_;
    threads_ = std::make_unique<cpu::ThreadPool>(options_.threads);
    cpu_experts_ = std::make_unique<CpuExperts>(file, c, *threads_);
    if (options_.cpu_moe) return;
    offload::MissRates rates;
    rates.cpu_bytes_per_s = measure_cpu_expert_rate(*cpu_experts_, 0, 3);

    rates.upload_bytes_per_s = upload_rate_;

    vk::CommandBuffer& cmd = *cmd_;
    double empty = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        cmd.begin();
        submit_and_wait(cmd);
        empty = std::min(empty, seconds_since(t0));
    }
    rates.cpu_fixed_s = 2 * empty;  // the extra submission, plus reading h and writing the sum
    // lavapipe and other CPU devices run their shaders on the cores the CPU experts use.
    rates.shared_cores = device_.info().type == vk::DeviceType::Cpu;

    // Every route at slot 0: what the weights hold does not matter, only how long it takes.
    cmd.begin();
    for (const vk::Buffer* b : {&w.gate_off, &w.up_off, &w.down_off}) cmd.fill(*b, 0);
    vk::transfer_to_compute(cmd);
    submit_and_wait(cmd);
    double gpu = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        cmd.begin();
        record_decode_ffn(cmd, 0);
        submit_and_wait(cmd);
        gpu = std::min(gpu, seconds_since(t0) - empty);
    }
    rates.gpu_pass_s = std::max(gpu, 1e-6);
    rates.gpu_bytes_per_s =
        double(c.n_experts_used) * double(cpu_experts_->expert_bytes(0)) / rates.gpu_pass_s;
    miss_cost_ = std::make_unique<offload::MissCostModel>(rates, options_.miss_policy);
    if (options_.miss_policy != offload::MissPolicy::Copy &&
        vk::Timestamps::supported(device_, vk::QueueKind::Compute))
        ffn_timer_ = std::make_unique<vk::Timestamps>(device_, vk::QueueKind::Compute, 4);
}

}  // namespace ferry::model
