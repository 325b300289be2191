#pragma once
// Submits a generation job to the engine and answers the client with its events: one JSON
// response, or a server-sent-event stream of chunks ending with `data: [DONE]`. A client
// that goes away (a failed write, or a closed socket noticed while waiting) cancels the job,
// which frees its sequence at the engine's next step.
#include "serve/engine.h"
#include "serve/http_connection.h"
#include "serve/openai_format.h"
#include "serve/tool_calls.h"

#include <memory>

namespace ferry::serve {

struct AnswerShape {
    ResponseMeta meta;
    bool chat = true;  // chat.completion(.chunk) objects, else text_completion
    bool stream = false;
    bool include_usage = false;
    bool tool_calls = false;  // the request gave tools: <tool_call> blocks become tool_calls
};

void answer_job(Engine& engine, const std::shared_ptr<Job>& job, const AnswerShape& shape,
                HttpConnection& conn);

}  // namespace ferry::serve
