#include "serve/generation.h"

#include "serve/answer_parts.h"
#include "serve/api_error.h"

#include <chrono>

namespace ferry::serve {
namespace {

using nlohmann::json;
constexpr std::chrono::milliseconds kPoll{100};  // how often a waiting connection checks its client

std::string error_text(int status, const std::string& message, const std::string& code) {
    const char* type = status >= 500 ? "server_error" : "invalid_request_error";
    return dump_json(ApiError::error_body(message, type, {}, code));
}

// The next event; nullopt when the client went away first (the job is then cancelled).
std::optional<JobEvent> next_event(Job& job, HttpConnection& conn) {
    for (;;) {
        if (auto e = job.wait(kPoll)) return e;
        if (conn.peer_closed()) {
            job.cancelled = true;
            return std::nullopt;
        }
    }
}

json chunk(const AnswerShape& s, const std::string& text, std::string_view finish) {
    if (s.chat) return chat_chunk(s.meta, finish.empty() ? json{{"content", text}} : json::object(), finish);
    return completion_chunk(s.meta, text, finish);
}

}  // namespace

void answer_job(Engine& engine, const std::shared_ptr<Job>& job, const AnswerShape& shape,
                HttpConnection& conn) {
    switch (engine.submit(job)) {
        case Engine::Submit::accepted:
            break;
        case Engine::Submit::queue_full:
            conn.send_json(503,
                           error_text(503,
                                      "the server is busy: every sequence is in use and the queue is full; "
                                      "retry shortly",
                                      "queue_full"),
                           {{"Retry-After", "1"}});
            return;
        case Engine::Submit::draining:
            conn.send_json(503, error_text(503, "the server is shutting down", "shutting_down"),
                           {{"Retry-After", "5"}});
            return;
    }

    bool streaming = false;
    AnswerParts parts(shape.reasoning, shape.reasoning_open, shape.tool_calls);
    AnswerParts::Piece whole;  // a non-streamed answer, gathered
    std::size_t calls_sent = 0;
    // A piece of the answer (empty and last: the end), sent or gathered; false: the client
    // is gone.
    auto piece = [&](const std::string& text, bool last) {
        AnswerParts::Piece p = last ? parts.finish() : parts.push(text);
        if (!streaming) {
            whole.reasoning += p.reasoning;
            whole.content += p.content;
            whole.calls.insert(whole.calls.end(), p.calls.begin(), p.calls.end());
            return true;
        }
        if (!p.reasoning.empty() &&
            !conn.write_stream(sse_event(chat_chunk(shape.meta, {{"reasoning_content", p.reasoning}}, ""))))
            return false;
        if (!p.content.empty() && !conn.write_stream(sse_event(chunk(shape, p.content, "")))) return false;
        if (p.calls.empty()) return true;
        const json delta = {{"tool_calls", tool_calls_json(shape.meta, p.calls, calls_sent)}};
        calls_sent += p.calls.size();
        return conn.write_stream(sse_event(chat_chunk(shape.meta, delta, "")));
    };
    for (;;) {
        const std::optional<JobEvent> e = next_event(*job, conn);
        if (!e) return;
        switch (e->kind) {
            case JobEvent::Kind::started:
                if (shape.stream) {
                    streaming = conn.begin_stream();
                    // OpenAI's first chat chunk names the role.
                    if (streaming && shape.chat)
                        streaming = conn.write_stream(
                            sse_event(chat_chunk(shape.meta, {{"role", "assistant"}, {"content", ""}}, "")));
                    if (!streaming) {
                        job->cancelled = true;
                        return;
                    }
                }
                break;
            case JobEvent::Kind::text:
                if (!piece(e->text, false)) {
                    job->cancelled = true;
                    return;
                }
                break;
            case JobEvent::Kind::error:
                if (streaming) {
                    // Headers are gone: the error travels as an event, which OpenAI clients raise.
                    conn.write_stream("data: " + error_text(e->status, e->text, e->code) + "\n\n");
                    conn.end_stream();
                } else {
                    conn.send_json(e->status, error_text(e->status, e->text, e->code));
                }
                return;
            case JobEvent::Kind::done: {
                if (e->finish_reason == "cancelled") {  // the server is shutting down
                    const std::string text =
                        error_text(503, "the server shut down during the answer", "shutting_down");
                    if (streaming) {
                        conn.write_stream("data: " + text + "\n\n");
                        conn.end_stream();
                    } else {
                        conn.send_json(503, text);
                    }
                    return;
                }
                // An answer that called functions ends with "tool_calls", as OpenAI's do.
                auto finish = [&](std::size_t calls) {
                    return calls && e->finish_reason == "stop" ? std::string("tool_calls") : e->finish_reason;
                };
                if (!piece({}, true)) {
                    job->cancelled = true;
                    return;
                }
                if (!streaming) {
                    // Tool calls or split reasoning: the content without the surrounding
                    // whitespace those leave.
                    const bool parted = shape.tool_calls != AnswerParts::Calls::none || shape.reasoning;
                    const std::string content = parted ? std::string(trim_space(whole.content)) : whole.content;
                    const json body =
                        shape.chat ? chat_completion(shape.meta, content, finish(whole.calls.size()), e->usage,
                                                     whole.calls, std::string(trim_space(whole.reasoning)))
                                   : text_completion(shape.meta, content, e->finish_reason, e->usage);
                    conn.send_json(200, dump_json(body));
                    return;
                }
                std::string tail = sse_event(chunk(shape, "", finish(calls_sent)));
                if (shape.include_usage)
                    tail += sse_event(shape.chat ? chat_usage_chunk(shape.meta, e->usage)
                                                 : completion_usage_chunk(shape.meta, e->usage));
                tail += sse_done();
                if (conn.write_stream(tail)) conn.end_stream();
                return;
            }
        }
    }
}

}  // namespace ferry::serve
