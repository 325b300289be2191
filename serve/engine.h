#pragma once
// The one thread that drives the model. Requests wait in a bounded queue; up to `parallel`
// run at once, each on its own sequence (KV cache) of the model, and the engine steps them
// in turn (one prefill batch or one decode token each), so a long answer does not hold the
// others back. A new request goes to the idle sequence whose cache shares the longest
// prefix with its prompt, and only the rest is prefilled: a client re-sending a growing
// conversation prefills just the new turn.
//
// The decode steps of the sequences that are past their prefill run batched, one token of
// each in one forward pass (GpuModel::decode_many: the weights read once for all of them),
// so N answers at once cost less than N times one.
#include "model/gpu_model.h"
#include "serve/job.h"
#include "text/tokenizer.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ferry::serve {

struct EngineOptions {
    std::uint32_t parallel = 1;  // sequences, each with n_ctx positions of KV cache
    std::size_t max_queue = 16;  // requests waiting for a sequence; beyond: 503
    std::uint32_t batch = 64;    // prefill tokens per step
    bool batch_decode = true;    // continuous batching; false: decode steps one sequence at a time
};

// What /metrics shows; counters only grow.
struct EngineStats {
    std::uint64_t requests_finished = 0, requests_cancelled = 0, requests_failed = 0;
    std::uint64_t prompt_tokens = 0, cached_tokens = 0, prefilled_tokens = 0, generated_tokens = 0;
    double prefill_seconds = 0, decode_seconds = 0;
    // Decode passes that ran several sequences' tokens at once, and those tokens.
    std::uint64_t batched_decode_passes = 0, batched_decode_tokens = 0;
    std::size_t queue_depth = 0, active = 0, parallel = 0;
    std::uint64_t expert_hits = 0, expert_misses = 0, bytes_uploaded = 0;
    bool offloading = false;
    std::uint64_t device_bytes = 0;
};

class Engine {
public:
    Engine(model::GpuModel& model, const text::Tokenizer& tokenizer, const EngineOptions& options);
    ~Engine();  // drains with no grace: cancels what runs
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    enum class Submit { accepted, queue_full, draining };
    Submit submit(std::shared_ptr<Job> job);

    // Takes no new requests; lets queued and running ones finish for up to `grace`, then
    // cancels the rest; returns once the engine's thread has ended.
    void drain(std::chrono::milliseconds grace);
    // Ends a drain's grace period now (a second signal).
    void cut_grace();

    EngineStats stats() const;
    std::uint32_t n_ctx() const { return n_ctx_; }

private:
    struct Slot;
    struct Active;

    void run();
    void admit(std::shared_ptr<Job> job);  // tokenizes, picks a slot; errors go to the job
    bool step(Active& a);                  // false: the request is finished
    // A decoding request's next token, sampled and sent (nullopt: it ended), and what
    // running it gave: the logits, and whether the request goes on.
    std::optional<text::TokenId> next_token(Active& a);
    bool ran(Active& a, text::TokenId id, std::vector<float> logits, double seconds);
    // The tokens of these active requests (indices) in one pass; `done` marks those ended.
    void run_decodes(const std::vector<std::size_t>& decoding, const std::vector<text::TokenId>& next,
                     std::vector<bool>& done);
    void finish(Active& a, std::string_view reason);
    void fail(Active& a, int status, const std::string& message, const std::string& code);
    bool has_idle_slot() const;

    model::GpuModel& model_;
    const text::Tokenizer& tokenizer_;
    const EngineOptions options_;
    const std::uint32_t n_ctx_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::unique_ptr<Active>> active_;  // the engine thread's only
    std::uint64_t clock_ = 0;                      // for least-recently-used slot choice

    mutable std::mutex mutex_;  // guards what follows
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool draining_ = false, stop_ = false, grace_cut_ = false;
    EngineStats stats_;
    std::thread thread_;
};

}  // namespace ferry::serve
