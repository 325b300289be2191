#pragma once
// Submits a generation job to the engine and answers the client with its events: one JSON
// response, or a server-sent-event stream of chunks ending with `data: [DONE]`. A client
// that goes away (a failed write, or a closed socket noticed while waiting) cancels the job,
// which frees its sequence at the engine's next step.
#include "serve/engine.h"
#include "serve/http_connection.h"
#include "serve/openai_format.h"
#include "serve/answer_parts.h"
#include "serve/tool_calls.h"
#include "text/reasoning.h"

#include <memory>
#include <optional>

namespace ferry::serve {

struct AnswerShape {
    ResponseMeta meta;
    bool chat = true;  // chat.completion(.chunk) objects, else text_completion
    bool stream = false;
    bool include_usage = false;
    // The request gave tools: calls in the answer (in the format's syntax) become tool_calls.
    AnswerParts::Calls tool_calls = AnswerParts::Calls::none;
    // Where set, reasoning in this markup goes into reasoning_content, the rest into content;
    // reasoning_open: the prompt opened it (Qwen3.5), so the answer starts inside.
    std::optional<text::ReasoningMarkup> reasoning = std::nullopt;
    bool reasoning_open = false;
};

void answer_job(Engine& engine, const std::shared_ptr<Job>& job, const AnswerShape& shape,
                HttpConnection& conn);

}  // namespace ferry::serve
