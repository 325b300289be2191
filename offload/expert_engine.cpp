#include "offload/expert_engine.h"

#include "base/error.h"
#include "base/timing.h"
#include "offload/cpu_rate.h"
#include "vk/barrier.h"
#include "vk/copy_rate.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace ferry::offload {

ExpertEngine::ExpertEngine(vk::Device& device, const gguf::File& file, const ExpertLayout& layout,
                           const ExpertEngineOptions& options, const PoolProgress& progress)
    : device_(device), file_(file), layout_(layout), options_(options) {
    if (options_.cpu_moe) options_.expert_slots = 1;  // pools stay (tiny) so the kernels bind something
    const bool offload = options_.expert_slots > 0 && options_.expert_slots < layout.n_experts;
    pools_ =
        std::make_unique<ExpertPools>(device, file, layout, offload ? options_.expert_slots : 0, progress);
}

ExpertEngine::~ExpertEngine() = default;

void ExpertEngine::begin_batch(std::uint32_t tokens, std::uint32_t position) {
    position_ = position;
    if (offload_) offload_->next_token(tokens);
    if (tokens > 1) predicted_.clear();  // decode predictions carry over to the next token's first layer
}

void ExpertEngine::submit_and_wait(vk::CommandBuffer& cmd) {
    submit_compute(cmd);
    finish_compute(cmd);
}

void ExpertEngine::submit_compute(vk::CommandBuffer& cmd) {
    if (pending_ready_ == 0)
        cmd.submit();
    else
        cmd.submit({.waits = {{&offload_->timeline(), pending_ready_}}});
}

void ExpertEngine::finish_compute(vk::CommandBuffer& cmd) {
    if (pending_ready_ != 0) offload_->wait_ready(pending_ready_);
    pending_ready_ = 0;
    cmd.wait();
}

FfnTimer ExpertEngine::pass_timer() {
    if (!ffn_timer_ || pass_timer_armed_) return {};
    pass_timer_armed_ = true;
    return {ffn_timer_.get(), 0};
}

// Lets route_override rewrite the layer's choice and, where it did, checks it and puts it
// on the GPU.
void ExpertEngine::override_routes(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, LayerRoutes& r) {
    if (!route_override_(layer, position_, r.ids, r.weights)) return;
    for (std::int32_t e : r.ids)
        if (e < 0 || std::uint32_t(e) >= layout_.n_experts || std::count(r.ids.begin(), r.ids.end(), e) != 1)
            fail(
                "forced routing for layer {} gives expert id {} (the model has {} experts; ids must be "
                "distinct)",
                layer, e, layout_.n_experts);
    gpu.write_routes(cmd, r.ids, r.weights);
}

void ExpertEngine::decode_layer(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer) {
    if (offloading()) return decode_offloaded(gpu, cmd, layer);
    if (route_override_) {
        LayerRoutes r = gpu.read_routes(cmd, layout_.top_k, false, 0);
        override_routes(gpu, cmd, layer, r);
        cmd.begin();
    }
    gpu.record_decode(cmd, layer, nullptr, {});
}

// The router's choice is read back; the layer's experts are made resident (or handed to
// the CPU), prefetches start, and the MoE block is recorded.
void ExpertEngine::decode_offloaded(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer) {
    const std::uint32_t K = layout_.top_k, S = offload_->slots();
    // With fewer slots than top-k the next layer's own passes would evict a prefetched
    // expert before its turn (measured: two thirds wasted), so no prefetch then.
    // Nor where the CPU outruns this device even at cached experts: nothing copied would be used.
    const bool warm = !miss_cost_ || miss_cost_->gpu_worth_caching(K, expert_bytes(layer));
    const bool predict = options_.prefetch && !options_.cpu_moe && warm && S >= K && offload_->predicting();
    const bool gate = predict && offload_->has_gate() && layer + 1 < layout_.n_layers();
    if (gate) gpu.record_lookahead(cmd, layer + 1);
    LayerRoutes r = gpu.read_routes(cmd, K, gate, cpu_experts_ ? 1 : 0);
    follow_measurements();  // the read-back waited: everything submitted before has finished
    if (route_override_) override_routes(gpu, cmd, layer, r);
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
            prediction_observer_(target, target > layer ? position_ : position_ + 1, predicted_);
    }

    // Which routes the CPU computes: all of them (--cpu-moe), or the split the cost model
    // gives, taking the lowest-weight misses and hits (the router ranks highest first).
    std::vector<bool> on_cpu(K, options_.cpu_moe);
    if (cpu_experts_ && !options_.cpu_moe) {
        std::vector<std::uint32_t> misses, hits;
        for (std::uint32_t k = 0; k < K; ++k)
            (offload_->resident(layer, experts[k]) ? hits : misses).push_back(k);
        const CpuSplit split = miss_cost_->decode_split(std::uint32_t(misses.size()),
                                                        std::uint32_t(hits.size()), expert_bytes(layer), S);
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
        gpu.record_decode(cmd, layer, &offload_->residency(layer), pass_timer());
        return;
    }
    if (!cpu_ids.empty()) offload_->note_cpu_use(layer, cpu_ids, cpu_weights);

    // The GPU's routes in passes of at most S experts. Each pass runs the FFN over all K
    // routes (routes outside the pass read slot 0 and are discarded) and keeps its own
    // routes' rows: every row comes from the same kernel as when resident.
    cmd.begin();
    for (std::size_t first = 0; first < gpu_routes.size(); first += S) {
        const std::size_t n = std::min<std::size_t>(S, gpu_routes.size() - first);
        if (first > 0) {  // this pass evicts the last one's experts: let it finish
            submit_and_wait(cmd);
            cmd.begin();
        }
        std::vector<std::uint32_t> pass(n), keep(n);
        std::vector<float> pass_weights(n);
        for (std::size_t i = 0; i < n; ++i) {
            keep[i] = gpu_routes[first + i];
            pass[i] = experts[keep[i]];
            pass_weights[i] = r.weights[keep[i]];
        }
        const ExpertOffload::Placement placement = offload_->require(layer, pass, pass_weights);
        pending_ready_ = std::max(pending_ready_, placement.ready);
        if (first == 0 && !predicted_.empty()) offload_->prefetch(target, predicted_);
        std::vector<std::uint32_t> slots(K, 0);
        for (std::size_t i = 0; i < n; ++i) slots[keep[i]] = placement.slots[i];
        gpu.record_decode_pass(cmd, layer, slots, keep, pass_timer());
    }
    if (gpu_routes.empty() && !predicted_.empty()) offload_->prefetch(target, predicted_);
    if (!cpu_routes.empty()) {
        run_cpu_routes(gpu, cmd, layer, 1, true, r, cpu_routes, gpu_routes.empty());
        // The CPU served these misses now; copy them in behind, off the critical path, so
        // the cache still learns what is hot (else only prefetch ever fills a slot).
        if (!options_.cpu_moe && warm) offload_->prefetch(layer, cpu_ids);
        return;
    }
    gpu.record_combine(cmd, layer, 1, true, {});
}

// The batch's routes grouped by expert on the host (one read-back per layer), then one
// expert matmul per weight over every group. Offloading, the experts go through the slots
// in chunks of at most the slot count. With two or more slots, chunks of half the slots
// alternate between two command buffers and staging areas, so the next chunk's copies
// (transfer queue) run while this chunk computes; the compute itself stays in order.
void ExpertEngine::prefill_layer(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B) {
    const std::uint32_t K = layout_.top_k, X = layout_.n_experts, routes = B * K;
    const bool cpu_side = cpu_experts_ != nullptr;  // cpu, auto or cpu_moe: the CPU may take misses
    const LayerRoutes r = gpu.read_routes(cmd, routes, false, cpu_side ? B : 0);
    if (miss_cost_) follow_measurements();  // the read-back waited: earlier work has finished
    // routes grouped by expert, in route order within a group (deterministic).
    std::vector<std::vector<std::uint32_t>> by_expert(X);
    for (std::uint32_t i = 0; i < routes; ++i) by_expert[r.ids[i]].push_back(i);
    std::vector<std::uint32_t> used;  // experts with routes, ascending
    for (std::uint32_t e = 0; e < X; ++e)
        if (!by_expert[e].empty()) used.push_back(e);
    const std::vector<std::uint32_t> on_cpu =
        cpu_side ? take_cpu_experts(layer, used, by_expert) : std::vector<std::uint32_t>{};
    const std::uint32_t S = offloading() ? offload_->slots() : 0;
    const bool streaming = offloading() && used.size() > S;
    const bool double_buffered = streaming && S >= 2;
    const std::size_t chunk = !offloading() ? used.size() : double_buffered ? S / 2 : S;
    vk::CommandBuffer* cmds[2] = {&cmd, double_buffered ? prefill_cmd_.get() : &cmd};

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
        std::vector<ExpertGroup> groups(experts.size());
        for (std::size_t i = 0; i < experts.size(); ++i) groups[i] = {slots[i], by_expert[experts[i]]};
        // The cost model's prefill GPU rate: one chunk's expert FFN timed at a time.
        FfnTimer timer;
        if (index == 0 && ffn_timer_ && !chunk_timer_armed_) {
            timer = {ffn_timer_.get(), 2};
            chunk_timer_armed_ = true;
            chunk_timed_bytes_ = experts.size() * expert_bytes(layer);
        }
        gpu.record_prefill_chunk(cb, layer, groups, std::uint32_t(index % 2), timer);
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
        run_cpu_routes(gpu, cmd, layer, B, false, r, cpu_routes, used.empty());
        return;
    }
    gpu.record_combine(cmd, layer, B, false, {});
}

std::vector<std::uint32_t> ExpertEngine::take_cpu_experts(
    std::uint32_t layer, std::vector<std::uint32_t>& used,
    const std::vector<std::vector<std::uint32_t>>& by_expert) {
    std::vector<std::uint32_t> misses, hits;
    for (std::uint32_t e : used)
        (options_.cpu_moe || !offload_->resident(layer, e) ? misses : hits).push_back(e);
    CpuSplit split{std::uint32_t(misses.size()), 0};
    if (!options_.cpu_moe) {  // the least-used ones of each kind first
        std::vector<std::uint32_t> miss_tokens, hit_tokens;
        for (auto [list, tokens] : {std::pair{&misses, &miss_tokens}, std::pair{&hits, &hit_tokens}}) {
            std::stable_sort(list->begin(), list->end(), [&](std::uint32_t a, std::uint32_t b) {
                return by_expert[a].size() < by_expert[b].size();
            });
            for (std::uint32_t e : *list) tokens->push_back(std::uint32_t(by_expert[e].size()));
        }
        split = miss_cost_->prefill_split(miss_tokens, hit_tokens, expert_bytes(layer));
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

void ExpertEngine::run_cpu_routes(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t B,
                                  bool passes, const LayerRoutes& r, std::span<const ExpertRoute> cpu,
                                  bool gpu_idle) {
    const std::uint32_t K = layout_.top_k, E = layout_.n_embd;
    // The CPU's routes get weight 0 on the GPU: the combine then leaves their rows alone.
    // (A token's K experts are distinct, so (token, expert) names one route.)
    std::vector<float> weights = r.weights;
    for (const ExpertRoute& route : cpu)
        for (std::uint32_t k = 0; k < K; ++k)
            if (std::uint32_t(r.ids[route.token * K + k]) == route.expert) weights[route.token * K + k] = 0.f;
    gpu.record_combine(cmd, layer, B, passes, weights);
    const auto t_submit = std::chrono::steady_clock::now();
    submit_compute(cmd);

    // The GPU runs the cached experts meanwhile.
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float>& out = cpu_out_;  // kept: decode comes here per layer and token
    out.assign(std::size_t(B) * E, 0.f);
    cpu_experts_->add_experts(layer, r.h, B, cpu, out);
    const double cpu_s = seconds_since(t0);
    finish_compute(cmd);
    if (miss_cost_) {
        miss_cost_->observe_cpu(cpu.size() * expert_bytes(layer), cpu_s);
        // With no expert work in the submission, what the path took beyond the CPU's own
        // experts is its fixed cost: submission, wait, result staging.
        if (gpu_idle) miss_cost_->observe_cpu_fixed(seconds_since(t_submit) - cpu_s);
    }
    cmd.begin();
    gpu.record_add(cmd, out);
}

// Feeds the cost model what was measured since the last call (GPU-timed upload batches,
// the timed FFN pass and chunk) and keeps the prefetch count's link rate current.
void ExpertEngine::follow_measurements() {
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

// How many predicted experts to copy ahead: as many as the link moves while one layer
// computes (measured: the host time between two layers' router read-backs, averaged), at
// least one, at most top-k. More would still be in flight when the next layer needs the
// slots' link for its demand misses.
std::uint32_t ExpertEngine::prefetch_count(std::uint32_t layer) {
    const auto now = std::chrono::steady_clock::now();
    if (last_layer_time_.time_since_epoch().count() != 0 && layer > 0) {
        const double dt = std::chrono::duration<double>(now - last_layer_time_).count();
        layer_seconds_ = layer_seconds_ == 0 ? dt : 0.8 * layer_seconds_ + 0.2 * dt;
    }
    last_layer_time_ = now;
    const double expert = double(expert_bytes(std::min(layer + 1, layout_.n_layers() - 1)));
    const double fits = layer_seconds_ * upload_rate_ / expert;
    return std::uint32_t(std::clamp(fits, 1.0, double(layout_.top_k)));
}

// The copy machinery (host tier, upload ring, residency tables: allocated last, as the
// budget planner counts them) and the start-up figures, measured here and now: host -> device copies (from
// the model's staging buffer into layer 0's first pool, still empty: a buffer of its own could break a tight
// budget where host-visible memory counts against it); for hybrid the CPU's expert rate,
// the GPU's expert FFN and one empty submission (the CPU path's extra one).
void ExpertEngine::start(MoeGpu& gpu, vk::CommandBuffer& cmd, const vk::Buffer& staging) {
    if (pools_->resident() || offload_) return;
    ExpertSource* source = options_.expert_source;
    if (!source) {
        own_source_ = std::make_unique<ExpertSource>(file_, layout_, &device_);
        source = own_source_.get();
    }
    prefill_cmd_ = std::make_unique<vk::CommandBuffer>(device_, vk::QueueKind::Compute);
    offload_ = std::make_unique<ExpertOffload>(device_, layout_, *pools_, options_.cache_policy, *source);

    const ExpertPool& pool = pools_->pool(0, 0);
    const std::uint64_t bytes = std::min(pool.buffer.size(), staging.size());
    const vk::CopyStep upload[] = {{&staging, &pool.buffer, {0, 0, bytes}}};
    upload_rate_ = double(bytes) / vk::time_copies(device_, vk::QueueKind::Transfer, upload, 3).seconds;
    if (options_.prefetch && !options_.cpu_moe) offload_->set_predictor(options_.predictor);
    if (!options_.cpu_moe && options_.miss_policy == MissPolicy::Copy) return;
    threads_ = std::make_unique<cpu::ThreadPool>(options_.threads);
    cpu_experts_ = std::make_unique<CpuExperts>(file_, layout_, *threads_);
    if (options_.cpu_moe) return;

    MissRates rates;
    rates.cpu_bytes_per_s = measure_cpu_expert_rate(*cpu_experts_, 0, 3);
    rates.upload_bytes_per_s = upload_rate_;
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
    const std::vector<std::uint32_t> slot0(layout_.top_k, 0u);
    double pass = 1e30;
    for (int i = 0; i < 4; ++i) {  // the first run stages the offsets
        const auto t0 = std::chrono::steady_clock::now();
        cmd.begin();
        gpu.record_decode_pass(cmd, 0, slot0, {}, {});
        submit_and_wait(cmd);
        if (i > 0) pass = std::min(pass, seconds_since(t0) - empty);
    }
    rates.gpu_pass_s = std::max(pass, 1e-6);
    rates.gpu_bytes_per_s = double(layout_.top_k) * double(expert_bytes(0)) / rates.gpu_pass_s;
    miss_cost_ = std::make_unique<MissCostModel>(rates, options_.miss_policy);
    if (vk::Timestamps::supported(device_, vk::QueueKind::Compute))
        ffn_timer_ = std::make_unique<vk::Timestamps>(device_, vk::QueueKind::Compute, 4);
}

}  // namespace ferry::offload
