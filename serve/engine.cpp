#include "serve/engine.h"

#include "base/error.h"
#include "sample/sampler.h"
#include "text/stop_text.h"
#include "text/detokenizer.h"

#include <fmt/core.h>

#include <algorithm>

namespace ferry::serve {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::size_t common_prefix(const std::vector<text::TokenId>& a, const std::vector<text::TokenId>& b) {
    const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return std::size_t(ia - a.begin());
}

}  // namespace

// One sequence of the model and what its KV cache holds, as ids and (when known) as the
// text those ids spell, so a re-sent conversation keeps the model's own tokens of its
// answers even where the tokenizer would split that text differently.
struct Engine::Slot {
    model::SequenceState* sequence = nullptr;
    std::unique_ptr<model::SequenceState> owned;  // all but the model's own
    std::vector<text::TokenId> ids;
    std::string text;
    bool text_known = false;
    bool busy = false;
    std::uint64_t last_used = 0;
};

struct Engine::Active {
    Active(std::shared_ptr<Job> job, Slot& slot, const text::Tokenizer& tok, std::vector<std::string> stops)
        : job(std::move(job)),
          slot(slot),
          sampler(this->job->params.sampler),
          decoder(tok),
          stop(std::move(stops)) {}

    std::shared_ptr<Job> job;
    Slot& slot;
    std::vector<text::TokenId> prompt;
    std::size_t reused = 0;
    std::size_t checkpoint = 0;  // the history's end in prompt tokens (0: none)
    bool started = false;  // the cache was cut to the common prefix
    bool prefilling = true;
    std::vector<float> logits;
    sample::Sampler sampler;
    text::StreamDecoder decoder;
    text::StopTextFilter stop;
    std::string raw;  // every generated token's text, control tokens included (what the cache spells)
    std::size_t generated = 0;
    bool cache_spells_raw = true;  // false once a stop text cut a token that was not run
};

Engine::Engine(model::GpuModel& model, const text::Tokenizer& tokenizer, const EngineOptions& options)
    : model_(model), tokenizer_(tokenizer), options_(options), n_ctx_(model.n_ctx()) {
    if (options_.parallel < 1) ferry::fail("serve: --parallel must be at least 1");
    for (std::uint32_t i = 0; i < options_.parallel; ++i) {
        auto slot = std::make_unique<Slot>();
        if (i == 0) {
            slot->sequence = &model_.sequence();  // the model's own
        } else {
            slot->owned = model_.new_sequence();
            slot->sequence = slot->owned.get();
        }
        slots_.push_back(std::move(slot));
    }
    stats_.parallel = options_.parallel;
    stats_.offloading = model_.offloading();
    stats_.device_bytes = model_.device_bytes();
    thread_ = std::thread([this] { run(); });
}

Engine::~Engine() {
    drain(std::chrono::milliseconds(0));
}

Engine::Submit Engine::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        if (draining_) return Submit::draining;
        if (queue_.size() >= options_.max_queue) return Submit::queue_full;
        queue_.push_back(std::move(job));
        stats_.queue_depth = queue_.size();
    }
    cv_.notify_all();
    return Submit::accepted;
}

void Engine::drain(std::chrono::milliseconds grace) {
    std::unique_lock lock(mutex_);
    draining_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, grace, [&] { return grace_cut_ || (queue_.empty() && stats_.active == 0); });
    stop_ = true;  // the engine cancels what is left
    cv_.notify_all();
    lock.unlock();
    if (thread_.joinable()) thread_.join();
}

void Engine::cut_grace() {
    {
        std::lock_guard lock(mutex_);
        grace_cut_ = true;
    }
    cv_.notify_all();
}

EngineStats Engine::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool Engine::has_idle_slot() const {
    return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return !s->busy; });
}

void Engine::run() {
    for (;;) {
        std::vector<std::shared_ptr<Job>> admitted;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stop_ || !active_.empty() || (!queue_.empty() && has_idle_slot()); });
            if (stop_) {
                for (auto& job : queue_)
                    job->push(JobEvent::error(503, "the server is shutting down", "shutting_down"));
                queue_.clear();
                stats_.queue_depth = 0;
                for (auto& a : active_) a->job->cancelled = true;
            }
            std::size_t idle = std::size_t(
                std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->busy; }));
            while (!queue_.empty() && idle > 0) {
                admitted.push_back(std::move(queue_.front()));
                queue_.pop_front();
                --idle;
            }
            stats_.queue_depth = queue_.size();
            // Counted as active from here, so a drain starting now waits for them.
            stats_.active = active_.size() + admitted.size();
        }
        for (auto& job : admitted) admit(std::move(job));
        if (stop_ && active_.empty()) break;

        // One step of each running request: a prefill batch alone; the decoding ones sample
        // their next token, then run them together in one forward pass (continuous
        // batching; one by one without it).
        std::vector<bool> done(active_.size(), false);
        std::vector<std::size_t> decoding;
        std::vector<text::TokenId> next;
        for (std::size_t i = 0; i < active_.size(); ++i) {
            Active& a = *active_[i];
            try {
                if (a.prefilling || a.job->cancelled || !options_.batch_decode) {
                    done[i] = !step(a);
                } else if (const std::optional<text::TokenId> id = next_token(a)) {
                    decoding.push_back(i);
                    next.push_back(*id);
                } else {
                    done[i] = true;
                }
            } catch (const std::exception& e) {
                fail(a, 500, fmt::format("generation failed: {}", e.what()), "internal_error");
                done[i] = true;
            }
        }
        run_decodes(decoding, next, done);
        for (std::size_t i = active_.size(); i-- > 0;) {
            if (!done[i]) continue;
            active_[i]->slot.busy = false;
            active_[i]->slot.last_used = ++clock_;
            active_.erase(active_.begin() + std::ptrdiff_t(i));
        }
        const offload::OffloadStats offload = model_.offload_stats();
        std::lock_guard lock(mutex_);
        stats_.active = active_.size();
        stats_.expert_hits = offload.hits;
        stats_.expert_misses = offload.misses;
        stats_.bytes_uploaded = offload.bytes_uploaded;
        stats_.device_bytes = model_.device_bytes();
        if (stop_ && active_.empty() && queue_.empty()) break;
        cv_.notify_all();  // drain() waits for the engine to go idle
    }
    std::lock_guard lock(mutex_);
    stats_.active = 0;
    cv_.notify_all();
}

void Engine::run_decodes(const std::vector<std::size_t>& decoding, const std::vector<text::TokenId>& next,
                         std::vector<bool>& done) {
    if (decoding.empty()) return;
    std::vector<model::SequenceState*> sequences;
    for (std::size_t i : decoding) sequences.push_back(active_[i]->slot.sequence);
    const auto start = Clock::now();
    std::vector<float> logits;
    try {
        logits = model_.decode_many(sequences, next);
    } catch (const std::exception& e) {
        for (std::size_t i : decoding) {
            fail(*active_[i], 500, fmt::format("generation failed: {}", e.what()), "internal_error");
            done[i] = true;
        }
        return;
    }
    // The pass's time shared out: decode t/s then counts every sequence's token.
    const double seconds = seconds_since(start) / double(decoding.size());
    if (decoding.size() > 1 && model_.can_decode_many()) {
        std::lock_guard lock(mutex_);
        stats_.batched_decode_passes += 1;
        stats_.batched_decode_tokens += decoding.size();
    }
    const std::size_t V = logits.size() / decoding.size();
    for (std::size_t k = 0; k < decoding.size(); ++k) {
        const auto row = logits.begin() + std::ptrdiff_t(k * V);
        done[decoding[k]] = !ran(*active_[decoding[k]], next[k], std::vector<float>(row, row + std::ptrdiff_t(V)),
                                 seconds);
    }
}

void Engine::admit(std::shared_ptr<Job> job) {
    if (job->cancelled) return;
    const bool bpe = tokenizer_.vocab().model == text::ModelKind::bpe;
    std::vector<text::TokenId> plain;
    try {
        plain = tokenizer_.encode(job->prompt_text, {.add_special = !job->chat, .parse_special = true});
    } catch (const std::exception& e) {
        job->push(JobEvent::error(400, fmt::format("the prompt cannot be tokenized: {}", e.what()),
                                  "invalid_prompt"));
        return;
    }
    // The idle slot with the longest cached prefix (ties: the least recently used).
    Slot* best = nullptr;
    std::vector<text::TokenId> best_ids;
    std::size_t best_common = 0;
    for (auto& s : slots_) {
        if (s->busy) continue;
        std::vector<text::TokenId> ids;
        std::size_t common = 0;
        // SentencePiece adds a space before every encoded text, so only BPE may encode a tail alone.
        if (job->chat && bpe && s->text_known && !s->ids.empty() && job->prompt_text.starts_with(s->text)) {
            ids = s->ids;
            const auto tail = tokenizer_.encode(std::string_view(job->prompt_text).substr(s->text.size()),
                                                {.add_special = false, .parse_special = true});
            ids.insert(ids.end(), tail.begin(), tail.end());
            common = s->ids.size();
        } else {
            ids = plain;
            common = common_prefix(plain, s->ids);
        }
        if (!best || common > best_common || (common == best_common && s->last_used < best->last_used)) {
            best = s.get();
            best_ids = std::move(ids);
            best_common = common;
        }
    }
    if (best_ids.empty()) {
        job->push(JobEvent::error(400, "the prompt has no tokens", "invalid_prompt"));
        return;
    }
    if (best_ids.size() >= n_ctx_) {
        job->push(JobEvent::error(
            400,
            fmt::format("the prompt is {} tokens; the context holds {} (with room for at least one "
                        "answer token)",
                        best_ids.size(), n_ctx_),
            "context_length_exceeded"));
        return;
    }
    std::vector<std::string> stops = job->params.stop;
    stops.insert(stops.end(), job->end_texts.begin(), job->end_texts.end());
    auto a = std::make_unique<Active>(job, *best, tokenizer_, std::move(stops));
    a->prompt = std::move(best_ids);
    a->checkpoint = text::prefix_token_count(tokenizer_, a->prompt, job->prompt_text, job->history_text);
    best->busy = true;
    // The penalties look back over the prompt's last tokens too, as `ferry chat` does.
    const std::size_t window = std::size_t(std::max(job->params.sampler.penalty_last_n, 0));
    for (std::size_t i = a->prompt.size() > window ? a->prompt.size() - window : 0; i < a->prompt.size(); ++i)
        a->sampler.accept(a->prompt[i]);
    active_.push_back(std::move(a));
}

bool Engine::step(Active& a) {
    Slot& slot = a.slot;
    model_.use_sequence(slot.sequence);
    if (a.job->cancelled) {
        finish(a, "cancelled");
        return false;
    }
    if (a.prefilling) {
        if (!a.started) {
            // First step: keep the common prefix, run at least the last token for its logits.
            std::size_t common = common_prefix(a.prompt, slot.ids);
            if (common == a.prompt.size()) --common;
            common = model_.truncate(std::uint32_t(common));  // recurrent layers: a checkpoint or nothing
            if (a.checkpoint > common) model_.checkpoint_at(std::uint32_t(a.checkpoint));
            slot.ids.resize(common);
            slot.text_known = false;
            a.reused = common;
            a.job->push(JobEvent::started(
                {.prompt_tokens = a.prompt.size(), .completion_tokens = 0, .cached_tokens = common}));
            a.started = true;
        }
        const std::size_t at = slot.ids.size();
        const std::size_t n = std::min<std::size_t>(options_.batch, a.prompt.size() - at);
        const auto start = Clock::now();
        a.logits = model_.forward(std::span(a.prompt).subspan(at, n));
        const double s = seconds_since(start);
        slot.ids.insert(slot.ids.end(), a.prompt.begin() + std::ptrdiff_t(at),
                        a.prompt.begin() + std::ptrdiff_t(at + n));
        {
            std::lock_guard lock(mutex_);
            stats_.prefilled_tokens += n;
            stats_.prefill_seconds += s;
        }
        if (slot.ids.size() < a.prompt.size()) return true;
        a.prefilling = false;
        slot.text = a.job->prompt_text;
        slot.text_known = a.job->chat;
        return true;
    }

    const std::optional<text::TokenId> id = next_token(a);
    if (!id) return false;
    const auto start = Clock::now();
    const text::TokenId one[] = {*id};
    std::vector<float> logits = model_.forward(one);
    return ran(a, *id, std::move(logits), seconds_since(start));
}

std::optional<text::TokenId> Engine::next_token(Active& a) {
    const text::TokenId id = a.sampler.sample(a.logits);
    a.sampler.accept(id);
    const std::string_view special_text = tokenizer_.piece(id, true);
    const auto& ends = a.job->end_texts;
    if (tokenizer_.is_end_of_generation(id) ||
        std::find(ends.begin(), ends.end(), special_text) != ends.end()) {
        finish(a, "stop");
        return std::nullopt;
    }
    ++a.generated;
    std::string out;
    if (tokenizer_.is_special(id)) {
        // A control token ends any partial character before it; only those of the job's
        // reasoning markup reach the text (where the answer's reasoning is split off).
        out = a.stop.push(a.decoder.flush());
        a.raw += special_text;
        if (a.job->markup.mentions(special_text)) out += a.stop.push(special_text);
    } else {
        const std::string piece = a.decoder.push(id);
        a.raw += tokenizer_.piece(id, true);
        out = a.stop.push(piece);
    }
    if (!out.empty()) a.job->push(JobEvent::piece(std::move(out)));
    if (a.stop.stopped()) {
        a.cache_spells_raw = false;  // the token that completed the stop text is not run
        finish(a, "stop");
        return std::nullopt;
    }
    // Every sent token is run, even the last, so the cache holds the whole answer and the
    // client's next turn prefills only its own text.
    return id;
}

bool Engine::ran(Active& a, text::TokenId id, std::vector<float> logits, double seconds) {
    Slot& slot = a.slot;
    a.logits = std::move(logits);
    slot.ids.push_back(id);
    {
        std::lock_guard lock(mutex_);
        stats_.generated_tokens += 1;
        stats_.decode_seconds += seconds;
    }
    if (a.generated >= std::size_t(a.job->params.max_tokens) || slot.ids.size() >= n_ctx_) {
        finish(a, "length");
        return false;
    }
    return true;
}

void Engine::finish(Active& a, std::string_view reason) {
    // Bytes held back by the decoder or the stop filter belong to the answer.
    if (!a.stop.stopped()) {
        std::string rest = a.stop.push(a.decoder.flush()) + a.stop.flush();
        if (!rest.empty() && reason != "cancelled") a.job->push(JobEvent::piece(std::move(rest)));
    }
    Slot& slot = a.slot;
    if (a.prefilling) {
        slot.text_known = false;
    } else if (slot.text_known && a.cache_spells_raw) {
        slot.text += a.raw;  // the raw token texts, which a re-render of the answer spells for BPE
    } else {
        slot.text_known = false;
    }
    const Usage usage{
        .prompt_tokens = a.prompt.size(), .completion_tokens = a.generated, .cached_tokens = a.reused};
    a.job->push(JobEvent::done(std::string(reason), usage));
    std::lock_guard lock(mutex_);
    stats_.prompt_tokens += a.prompt.size();
    stats_.cached_tokens += a.reused;
    if (reason == "cancelled")
        ++stats_.requests_cancelled;
    else
        ++stats_.requests_finished;
}

void Engine::fail(Active& a, int status, const std::string& message, const std::string& code) {
    // The sequence's state is unknown after a failed forward: start it afresh next time.
    a.slot.ids.clear();
    a.slot.text_known = false;
    model_.use_sequence(a.slot.sequence);
    model_.reset();
    a.job->push(JobEvent::error(status, message, code));
    std::lock_guard lock(mutex_);
    ++stats_.requests_failed;
}

}  // namespace ferry::serve
