#pragma once
// The bodies of POST /v1/chat/completions and POST /v1/completions, parsed and checked.
// Every problem is an ApiError (400, or 404 for an unknown model) that names the field, so
// a client sees what to fix; fields ferry does not know are ignored, as OpenAI's
// compatible servers do, except those that would change the answer and that ferry cannot
// honour (n > 1), which are refused.
#include "sample/sampler.h"
#include "text/chat_template.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::serve {

struct RequestLimits {
    std::string model_id;            // the one name /v1/models lists; "model" must be it (or absent)
    std::uint32_t n_ctx = 4096;      // max_tokens may not exceed it
    int default_max_tokens = 512;    // when the request gives none
    sample::SamplerConfig defaults;  // the server's sampler options (--temp, ...)
    bool random_seed = true;         // a request without "seed" draws one (else defaults.seed)
};

struct GenerationParams {
    sample::SamplerConfig sampler;
    int max_tokens = 0;
    std::vector<std::string> stop;  // up to 4 texts that end the answer (not included)
};

struct ChatRequest {
    std::vector<text::ChatMessage> messages;  // roles system, user, assistant, tool
    // The functions the model may call, each as the chat template writes it (python_json);
    // empty without tools or with tool_choice "none".
    std::vector<std::string> tools;
    GenerationParams params;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
};

struct CompletionRequest {
    std::string prompt;
    GenerationParams params;
    bool stream = false;
    bool include_usage = false;
};

ChatRequest parse_chat_request(std::string_view body, const RequestLimits& limits);
CompletionRequest parse_completion_request(std::string_view body, const RequestLimits& limits);

}  // namespace ferry::serve
