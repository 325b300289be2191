// The SSE writer and the response objects: the bytes an OpenAI client parses.
#include "serve/api_error.h"
#include "serve/openai_format.h"
#include "text/stop_text.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace ferry::serve;
using nlohmann::json;

namespace {

const ResponseMeta meta{"chatcmpl-1", 1700000000, "demo"};

json event_json(const std::string& event) {
    REQUIRE(event.starts_with("data: "));
    REQUIRE(event.ends_with("\n\n"));
    const std::string body = event.substr(6, event.size() - 8);
    CHECK(body.find('\n') == std::string::npos);  // one line per event
    return json::parse(body);
}

}  // namespace

TEST_CASE("a chat chunk as one SSE event") {
    const json j = event_json(sse_event(chat_chunk(meta, {{"content", "Hel\nlo"}}, "")));
    CHECK(j["object"] == "chat.completion.chunk");
    CHECK(j["id"] == "chatcmpl-1");
    CHECK(j["model"] == "demo");
    CHECK(j["created"] == 1700000000);
    CHECK(j["choices"][0]["delta"]["content"] == "Hel\nlo");
    CHECK(j["choices"][0]["finish_reason"].is_null());
    CHECK(j["choices"][0]["index"] == 0);
}

TEST_CASE("the last chunks: finish reason, usage, [DONE]") {
    const json end = event_json(sse_event(chat_chunk(meta, json::object(), "length")));
    CHECK(end["choices"][0]["finish_reason"] == "length");
    const json u = event_json(
        sse_event(chat_usage_chunk(meta, {.prompt_tokens = 5, .completion_tokens = 3, .cached_tokens = 2})));
    CHECK(u["choices"].empty());
    CHECK(u["usage"]["total_tokens"] == 8);
    CHECK(u["usage"]["prompt_tokens_details"]["cached_tokens"] == 2);
    CHECK(sse_done() == "data: [DONE]\n\n");
}

TEST_CASE("non-streamed answers") {
    const json c = chat_completion(meta, "hi", "stop", {.prompt_tokens = 4, .completion_tokens = 1});
    CHECK(c["object"] == "chat.completion");
    CHECK(c["choices"][0]["message"]["role"] == "assistant");
    CHECK(c["choices"][0]["message"]["content"] == "hi");
    CHECK(c["usage"]["completion_tokens"] == 1);
    const json t = text_completion(meta, "upon", "length", {});
    CHECK(t["object"] == "text_completion");
    CHECK(t["choices"][0]["text"] == "upon");
    CHECK(model_list("demo", 1)["data"][0]["id"] == "demo");
}

TEST_CASE("the error shape, and invalid UTF-8 never throws") {
    const json e = ApiError(400, "bad", "invalid_request_error", "top_k").body();
    CHECK(e["error"]["message"] == "bad");
    CHECK(e["error"]["type"] == "invalid_request_error");
    CHECK(e["error"]["param"] == "top_k");
    CHECK(e["error"]["code"].is_null());
    CHECK_NOTHROW(dump_json(json{{"x", std::string("\xff")}}));
}

TEST_CASE("stop texts split across pieces") {
    ferry::text::StopTextFilter s({"<|im_end|>", "END"});
    std::string out = s.push("Hello <|im");
    CHECK(out == "Hello ");
    out += s.push("_end|> ignored");
    CHECK(out == "Hello ");
    CHECK(s.stopped());
    CHECK(s.push("more").empty());

    ferry::text::StopTextFilter t({"END"});
    std::string o = t.push("aE");
    o += t.push("Nx");  // not a stop text after all
    o += t.flush();
    CHECK(o == "aENx");
    CHECK_FALSE(t.stopped());
}
