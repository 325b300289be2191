#include "offload/expert_offload.h"

#include "base/error.h"
#include "vk/barrier.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>

namespace ferry::offload {

namespace {

constexpr std::size_t kTransferBuffers = 4;  // batches in flight before begin() waits
constexpr std::uint64_t kStageAlign = 16;
// Smaller batches (a residency entry, one small expert) are mostly fixed submit cost: their
// rate says little about the link.
constexpr std::uint64_t kMinTimedBytes = 64ull << 10;
constexpr std::size_t kMaxLinkSamples = 4096;  // kept for take_link_samples(); oldest dropped

std::uint64_t align_up(std::uint64_t n, std::uint64_t a) {
    return (n + a - 1) / a * a;
}

// Room for the demand copies of one token's layer and the prefetches of the next two.
std::uint64_t ring_bytes_for(std::uint32_t top_k, std::uint64_t expert_total) {
    return (4ull * top_k + 2) * expert_total + 64 * kStageAlign;
}

}  // namespace

std::uint64_t ExpertOffload::ring_bytes_bound(std::uint32_t top_k, std::uint64_t expert_bytes) {
    return ring_bytes_for(top_k, expert_bytes + 4 * kStageAlign);
}

// Host-visible staging memory used as a ring: each batch of copies takes the bytes after
// the previous one and gives them back once its timeline value is reached.
struct ExpertOffload::Ring {
    vk::Buffer buffer;
    std::uint64_t head = 0;   // next free byte
    std::uint64_t used = 0;   // bytes held by in-flight and recording batches
    std::uint64_t batch = 0;  // of those, the recording batch's
    std::deque<std::pair<std::uint64_t, std::uint64_t>> in_flight;  // (bytes, timeline value), oldest first
};

ExpertOffload::ExpertOffload(vk::Device& device, const ExpertLayout& layout, const ExpertPools& pools,
                             std::string_view policy, ExpertSource& source)
    : device_(device), pools_(pools), slots_(pools.slots()), source_(source) {
    const std::uint32_t L = layout.n_layers(), X = layout.n_experts;
    if (pools.resident() || slots_ == 0 || slots_ >= X)
        throw std::logic_error("ExpertOffload needs between 1 and n_experts - 1 slots per layer");
    geometry_.n_layers = L;
    geometry_.n_experts = X;
    geometry_.top_k = layout.top_k;
    geometry_.cross_layer.assign(L, true);
    policy_ = scheduler::make_policy(policy, geometry_.total_experts());
    cache_ = std::make_unique<scheduler::ExpertCache>(geometry_, slots_ * L, true, *policy_);
    ready_.assign(geometry_.total_experts(), 0);
    stats_.layer_hits.assign(L, 0);
    stats_.layer_misses.assign(L, 0);
    for (std::uint32_t l = 0; l < L; ++l)
        residency_.emplace_back(device, std::uint64_t(X) * 4, vk::MemoryKind::DeviceLocal, "residency table");
    timeline_ = std::make_unique<vk::Timeline>(device);
    std::uint64_t expert_total = 0;  // every part of the largest layer's expert, each aligned
    for (const ExpertLayer& layer : layout.layers)
        expert_total =
            std::max<std::uint64_t>(expert_total, layer.expert_bytes() + layer.parts.size() * kStageAlign);
    ring_ = std::make_unique<Ring>();
    const std::uint64_t ring_bytes = ring_bytes_for(layout.top_k, expert_total + kStageAlign);
    ring_->buffer = vk::Buffer(device, ring_bytes, vk::MemoryKind::Staging, "expert upload ring");
    if (vk::Timestamps::supported(device, vk::QueueKind::Transfer))
        timestamps_ = std::make_unique<vk::Timestamps>(device, vk::QueueKind::Transfer, 2 * kTransferBuffers);
    for (std::size_t i = 0; i < kTransferBuffers; ++i)
        cmds_.push_back(std::make_unique<vk::CommandBuffer>(device, vk::QueueKind::Transfer));
}

ExpertOffload::~ExpertOffload() {
    if (batch_) {  // an exception left a batch recording: submit it so its buffer can be reused
        try {
            submit_batch();
        } catch (...) {
        }
    }
}

const vk::Buffer& ExpertOffload::residency(std::uint32_t layer) const {
    return residency_[layer];
}

bool ExpertOffload::resident(std::uint32_t layer, std::uint32_t expert) const {
    return cache_->resident(geometry_.key(layer, expert));
}

void ExpertOffload::begin_batch() {
    batch_pair_ = next_cmd_;
    batch_ = cmds_[next_cmd_].get();
    next_cmd_ = (next_cmd_ + 1) % cmds_.size();
    batch_->begin();
    batch_bytes_ = 0;
    const std::uint32_t first = 2 * static_cast<std::uint32_t>(batch_pair_);
    if (timestamps_) {
        // begin() waited for this buffer's previous batch, so its pair is written: read it
        // before the reset, even if the timeline value is not seen yet.
        retire_timed();
        std::erase_if(timed_, [&](const TimedBatch& t) {
            if (t.pair != batch_pair_) return false;
            record_timed(t);
            return true;
        });
        timestamps_->reset(*batch_, first, 2);
    }
    // Orders this batch's writes after earlier batches' writes to the same slots.
    vk::transfer_to_transfer(*batch_);
    // After the barrier, at the transfer stage: written once earlier copies are done, when
    // this batch's can start, so batches queued back to back do not count each other's time.
    if (timestamps_) timestamps_->write(*batch_, first, VK_PIPELINE_STAGE_TRANSFER_BIT);
}

std::uint64_t ExpertOffload::submit_batch() {
    if (timestamps_)
        timestamps_->write(*batch_, 2 * static_cast<std::uint32_t>(batch_pair_) + 1,
                           VK_PIPELINE_STAGE_TRANSFER_BIT);
    const std::uint64_t value = timeline_->next();
    batch_->submit({.signals = {{timeline_.get(), value}}});
    batch_ = nullptr;
    ring_->in_flight.emplace_back(ring_->batch, value);
    ring_->batch = 0;
    if (timestamps_ && batch_bytes_ >= kMinTimedBytes) timed_.push_back({batch_pair_, batch_bytes_, value});
    return value;
}

void ExpertOffload::retire_timed() const {
    if (timed_.empty()) return;
    const std::uint64_t reached = timeline_->value();
    while (!timed_.empty() && timed_.front().value <= reached) {
        record_timed(timed_.front());
        timed_.pop_front();
    }
}

void ExpertOffload::record_timed(const TimedBatch& t) const {
    const std::uint32_t first = 2 * static_cast<std::uint32_t>(t.pair);
    const std::optional<double> s = timestamps_->seconds(first, first + 1);
    if (!s || *s <= 0) return;  // not written (the batch did not run) or below the tick
    link_bytes_ += t.bytes;
    link_s_ += *s;
    link_samples_.push_back({t.bytes, *s});
    if (link_samples_.size() > kMaxLinkSamples) link_samples_.pop_front();
}

std::vector<LinkSample> ExpertOffload::take_link_samples() {
    retire_timed();
    std::vector<LinkSample> out(link_samples_.begin(), link_samples_.end());
    link_samples_.clear();
    return out;
}

// Takes `bytes` of the ring for the recording batch; when the ring is full, submits the
// recording batch and waits for the oldest batches (counted as stall: the forward pass is
// waiting for those very copies).
std::uint64_t ExpertOffload::reserve(std::uint64_t bytes) {
    Ring& r = *ring_;
    const std::uint64_t size = r.buffer.size();
    const std::uint64_t n = align_up(bytes, kStageAlign);
    if (n > size) throw std::logic_error("expert upload ring smaller than one slice");
    for (;;) {
        const std::uint64_t waste = r.head + n > size ? size - r.head : 0;  // skipped tail on wrap
        if (r.used + waste + n <= size) {
            if (waste) {
                r.head = 0;
                r.used += waste;
                r.batch += waste;
            }
            break;
        }
        if (batch_ && r.batch > 0 && r.in_flight.empty()) submit_batch();
        if (r.in_flight.empty()) throw std::logic_error("expert upload ring: nothing to wait for");
        const auto [freed, value] = r.in_flight.front();
        if (timeline_->value() < value) {
            const auto t0 = std::chrono::steady_clock::now();
            timeline_->wait(value, "expert upload");
            stats_.stall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        r.in_flight.pop_front();
        r.used -= freed;
        retire_timed();
    }
    if (!batch_) begin_batch();
    const std::uint64_t at = r.head;
    r.head = (r.head + n) % size;
    r.used += n;
    r.batch += n;
    return at;
}

void ExpertOffload::stage_copy(std::span<const std::byte> bytes, const vk::Buffer& dst,
                               std::uint64_t dst_offset) {
    const std::uint64_t at = reserve(bytes.size());
    std::memcpy(ring_->buffer.bytes().data() + at, bytes.data(), bytes.size());
    batch_->copy(ring_->buffer, dst, {at, dst_offset, bytes.size()});
}

// One slice: from the source's imported buffer when it has one (no host copy at all), else
// copied into the ring (copy_to counts the page faults of a mapped file).
void ExpertOffload::copy_slice(std::uint32_t layer, std::uint32_t t, std::uint32_t expert,
                               const vk::Buffer& dst, std::uint64_t dst_offset) {
    const std::uint64_t bytes = source_.expert_bytes(layer, t);
    if (const auto visible = source_.device_visible(layer, t, expert)) {
        if (!batch_) begin_batch();
        batch_->copy(*visible->first, dst, {visible->second, dst_offset, bytes});
    } else {
        const std::uint64_t at = reserve(bytes);
        source_.copy_to(layer, t, expert, ring_->buffer.bytes().subspan(at, bytes));
        batch_->copy(ring_->buffer, dst, {at, dst_offset, bytes});
    }
    stats_.bytes_uploaded += bytes;
    batch_bytes_ += bytes;
}

std::uint32_t ExpertOffload::place(std::uint32_t layer, std::uint32_t expert, bool prefetched,
                                   const std::function<bool(scheduler::ExpertKey)>& is_protected) {
    const scheduler::ExpertKey key = geometry_.key(layer, expert);
    if (!cache_->has_free_slot(layer)) {
        const auto victim = cache_->pick_victim(layer, is_protected, clock_);
        if (!victim) return scheduler::ExpertCache::kNoSlot;
        cache_->evict(*victim);
    }
    const std::uint32_t slot = cache_->insert(key, prefetched, clock_) - layer * slots_;
    const std::span<const ExpertPool> pools = pools_.layer(layer);
    for (std::uint32_t part = 0; part < pools.size(); ++part)
        copy_slice(layer, part, expert, pools[part].buffer, std::uint64_t(slot) * pools[part].expert_bytes);
    stage_copy(std::as_bytes(std::span<const std::uint32_t, 1>(&slot, 1)), residency_[layer], 4ull * expert);
    return slot;
}

ExpertOffload::Placement ExpertOffload::require(std::uint32_t layer, std::span<const std::uint32_t> experts,
                                                std::span<const float> weights,
                                                std::span<const std::uint32_t> in_use) {
    if (experts.size() + in_use.size() > slots_)
        throw std::logic_error("ExpertOffload::require: more experts than slots");
    clock_.step = geometry_.step(clock_.token, layer);
    std::vector<scheduler::ExpertKey> keys(experts.size());
    for (std::size_t i = 0; i < experts.size(); ++i) keys[i] = geometry_.key(layer, experts[i]);
    for (std::uint32_t e : in_use) keys.push_back(geometry_.key(layer, e));
    const auto in_request = [&](scheduler::ExpertKey k) {
        return std::find(keys.begin(), keys.end(), k) != keys.end();
    };
    Placement placement;
    placement.slots.resize(experts.size());
    std::vector<scheduler::ExpertKey> copied;
    const std::uint64_t reached = timeline_->value();
    for (std::size_t i = 0; i < experts.size(); ++i) {
        const scheduler::ExpertKey key = keys[i];
        policy_->on_use(key, i < weights.size() ? weights[i] : 1.0f, clock_);
        if (cache_->resident(key)) {
            ++stats_.hits;
            ++stats_.layer_hits[layer];
            if (cache_->unused_prefetch(key)) {
                ++stats_.prefetch_used;
                cache_->mark_used(key);
            }
            placement.slots[i] = cache_->slot_of(key) - layer * slots_;
            if (ready_[key] > reached) placement.ready = std::max(placement.ready, ready_[key]);
            continue;
        }
        ++stats_.misses;
        ++stats_.layer_misses[layer];
        placement.slots[i] = place(layer, experts[i], false, in_request);
        if (placement.slots[i] == scheduler::ExpertCache::kNoSlot)
            throw std::logic_error("ExpertOffload::require: no slot to evict");
        copied.push_back(key);
    }
    if (batch_) {
        const std::uint64_t value = submit_batch();
        for (scheduler::ExpertKey k : copied) ready_[k] = value;
        placement.ready = value;
    }
    return placement;
}

void ExpertOffload::note_cpu_use(std::uint32_t layer, std::span<const std::uint32_t> experts,
                                 std::span<const float> weights) {
    clock_.step = geometry_.step(clock_.token, layer);
    for (std::size_t i = 0; i < experts.size(); ++i) {
        const scheduler::ExpertKey key = geometry_.key(layer, experts[i]);
        policy_->on_use(key, i < weights.size() ? weights[i] : 1.0f, clock_);
        // Cached experts the CPU computed anyway (it was the faster side) still hit.
        const bool hit = cache_->resident(key);
        (hit ? stats_.hits : stats_.misses) += 1;
        (hit ? stats_.layer_hits : stats_.layer_misses)[layer] += 1;
    }
    stats_.cpu_experts += experts.size();
}

void ExpertOffload::prefetch(std::uint32_t layer, std::span<const std::uint32_t> experts) {
    std::vector<scheduler::ExpertKey> keys;
    for (std::uint32_t e : experts) keys.push_back(geometry_.key(layer, e));
    const auto predicted = [&](scheduler::ExpertKey k) {
        return std::find(keys.begin(), keys.end(), k) != keys.end();
    };
    for (std::uint32_t e : experts)
        if (!cache_->resident(geometry_.key(layer, e))) source_.will_need(layer, e);
    std::vector<scheduler::ExpertKey> copied;
    for (std::size_t i = 0; i < experts.size() && copied.size() < slots_; ++i) {
        if (cache_->resident(keys[i])) continue;
        if (place(layer, experts[i], true, predicted) == scheduler::ExpertCache::kNoSlot) break;
        ++stats_.prefetched;
        copied.push_back(keys[i]);
    }
    if (batch_) {
        const std::uint64_t value = submit_batch();
        for (scheduler::ExpertKey k : copied) ready_[k] = value;
    }
}

void ExpertOffload::set_predictor(std::string_view spec) {
    predictor_ = scheduler::make_predictor(spec, geometry_);
    gate_ = scheduler::find_external(predictor_.get());
}

// Decode steps: token = the offload clock's current token (next_token() ran for it).
void ExpertOffload::observe(std::uint32_t layer, std::span<const std::uint32_t> experts,
                            std::span<const float> weights) {
    if (!predictor_) return;
    std::vector<scheduler::Choice> chosen(experts.size());
    for (std::size_t i = 0; i < experts.size(); ++i)
        chosen[i] = {experts[i], i < weights.size() ? weights[i] : 1.f};
    predictor_->observe({.token = clock_.token, .layer = layer, .chosen = chosen});
}

void ExpertOffload::feed_gate(std::uint32_t layer, std::span<const std::uint32_t> experts,
                              std::span<const float> weights) {
    if (!gate_) return;
    std::vector<scheduler::Choice> guess(experts.size());
    for (std::size_t i = 0; i < experts.size(); ++i)
        guess[i] = {experts[i], i < weights.size() ? weights[i] : 1.f};
    gate_->feed(geometry_.step(clock_.token, layer), guess);
}

std::vector<std::uint32_t> ExpertOffload::predict(std::uint32_t layer, std::uint32_t count,
                                                  std::uint32_t& target_layer) {
    std::vector<std::uint32_t> experts;
    if (!predictor_ || count == 0) return experts;
    const scheduler::Step now = geometry_.step(clock_.token, layer);
    for (const scheduler::Prediction& p :
         scheduler::top_predictions(*predictor_, geometry_, now, now + 1, count))
        experts.push_back(geometry_.expert_of(p.key));
    target_layer = geometry_.layer_at(now + 1);
    if (target_layer == layer) experts.clear();  // one layer: its pool is the one in use
    return experts;
}

void ExpertOffload::score_prediction(std::span<const std::uint32_t> predicted,
                                     std::span<const std::uint32_t> chosen) {
    stats_.predicted += predicted.size();
    for (std::uint32_t e : predicted)
        if (std::find(chosen.begin(), chosen.end(), e) != chosen.end()) ++stats_.predicted_right;
}

OffloadStats ExpertOffload::stats() const {
    OffloadStats s = stats_;
    const ExpertSourceStats host = source_.stats();
    s.page_faults = host.major_faults;
    s.fault_stall_s = host.fault_stall_s;
    s.read_aheads = host.read_aheads;
    retire_timed();
    s.link_bytes = link_bytes_;
    s.link_s = link_s_;
    return s;
}

void ExpertOffload::wait_ready(std::uint64_t ready) {
    if (ready == 0 || timeline_->value() >= ready) return;
    const auto t0 = std::chrono::steady_clock::now();
    timeline_->wait(ready, "expert upload");
    stats_.stall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace ferry::offload
