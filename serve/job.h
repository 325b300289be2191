#pragma once
// One generation request as the engine sees it, and the channel its events come back on:
// the connection's thread waits on wait(), the engine's thread push()es. `cancelled` is
// the connection's way back: a client that went away stops its generation at the next step.
#include "serve/openai_format.h"
#include "serve/request.h"
#include "text/reasoning.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ferry::serve {

struct JobEvent {
    enum class Kind { started, text, done, error };
    Kind kind = Kind::text;
    std::string text;           // text: the next piece of the answer
    std::string finish_reason;  // done: "stop" or "length" (or "cancelled", which no client sees)
    Usage usage;                // started (prompt side) and done
    int status = 0;             // error: the HTTP status
    std::string code;           // error: OpenAI's error code

    static JobEvent started(Usage usage) { return make(Kind::started, {}, {}, usage); }
    static JobEvent piece(std::string text) { return make(Kind::text, std::move(text), {}, {}); }
    static JobEvent done(std::string finish_reason, Usage usage) {
        return make(Kind::done, {}, std::move(finish_reason), usage);
    }
    static JobEvent error(int status, std::string message, std::string code) {
        JobEvent e = make(Kind::error, std::move(message), {}, {});
        e.status = status;
        e.code = std::move(code);
        return e;
    }

private:
    static JobEvent make(Kind kind, std::string text, std::string finish_reason, Usage usage) {
        JobEvent e;
        e.kind = kind;
        e.text = std::move(text);
        e.finish_reason = std::move(finish_reason);
        e.usage = usage;
        return e;
    }
};

class Job {
public:
    // chat: prompt_text is a rendered conversation (special tokens parsed, no BOS added:
    // the template writes it); else a raw completion prompt (BOS added where the
    // vocabulary asks for it).
    // markup: the reasoning markup whose control tokens (harmony's channel headers, Qwen3's
    // tags where they are control tokens) reach the answer's text; other control tokens
    // never do.
    Job(std::string prompt_text, bool chat, GenerationParams params, std::vector<std::string> end_texts,
        text::ReasoningMarkup markup = text::reasoning_markup(text::ChatFormat::Qwen3))
        : prompt_text(std::move(prompt_text)),
          chat(chat),
          params(std::move(params)),
          end_texts(std::move(end_texts)),
          markup(std::move(markup)) {}

    const std::string prompt_text;
    const bool chat;
    const GenerationParams params;
    const std::vector<std::string> end_texts;
    const text::ReasoningMarkup markup;
    // Chat: the conversation before the answer's opening (rendered without the generation
    // prompt), where a recurrent model checkpoints (GpuModel::checkpoint_at).
    std::string history_text;
    std::atomic<bool> cancelled{false};

    void push(JobEvent event) {
        {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(event));
        }
        cv_.notify_one();
    }
    // The next event, or nullopt after `timeout` (the caller checks its client meanwhile).
    std::optional<JobEvent> wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
        JobEvent e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<JobEvent> events_;
};

}  // namespace ferry::serve
