// The request parser: what it accepts, and the field each refusal names.
#include "serve/api_error.h"
#include "serve/request.h"

#include <doctest/doctest.h>

using namespace ferry::serve;

namespace {

RequestLimits limits() {
    RequestLimits l;
    l.model_id = "demo";
    l.n_ctx = 256;
    l.default_max_tokens = 100;
    l.random_seed = false;
    l.defaults.seed = 7;
    return l;
}

// The ApiError a body raises (status, param); fails the test when it parses.
std::pair<int, std::string> refusal(const std::string& body) {
    try {
        parse_chat_request(body, limits());
    } catch (const ApiError& e) {
        return {e.status(),
                e.body()["error"]["param"].is_null() ? "" : e.body()["error"]["param"].get<std::string>()};
    }
    FAIL("accepted: " << body);
    return {};
}

}  // namespace

TEST_CASE("a chat request with every sampler field") {
    const ChatRequest r = parse_chat_request(
        R"({"model":"demo","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"},
            {"role":"assistant","content":"hello"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
            "max_tokens":12,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1,"seed":42,"stop":["x","yz"],
            "presence_penalty":0.5,"frequency_penalty":0.25,"stream":true,"stream_options":{"include_usage":true}})",
        limits());
    REQUIRE(r.messages.size() == 4);
    CHECK(r.messages[0].role == "system");
    CHECK(r.messages[3].content == "ab");
    CHECK(r.params.max_tokens == 12);
    CHECK(r.params.sampler.temperature == doctest::Approx(0.5));
    CHECK(r.params.sampler.top_p == doctest::Approx(0.9));
    CHECK(r.params.sampler.top_k == 5);
    CHECK(r.params.sampler.min_p == doctest::Approx(0.1));
    CHECK(r.params.sampler.presence_penalty == doctest::Approx(0.5));
    CHECK(r.params.sampler.frequency_penalty == doctest::Approx(0.25));
    CHECK(r.params.sampler.seed == 42);
    CHECK(r.params.stop == std::vector<std::string>{"x", "yz"});
    CHECK(r.stream);
    CHECK(r.include_usage);
}

TEST_CASE("defaults: the server's max tokens and seed, no stream") {
    const ChatRequest r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}]})", limits());
    CHECK(r.params.max_tokens == 100);
    CHECK(r.params.sampler.seed == 7);
    CHECK_FALSE(r.stream);
    CHECK(parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":3})",
                             limits())
              .params.max_tokens == 3);
}

TEST_CASE("refusals name the field") {
    CHECK(refusal("not json") == std::pair<int, std::string>{400, ""});
    CHECK(refusal("[1,2]") == std::pair<int, std::string>{400, ""});
    CHECK(refusal("{}") == std::pair<int, std::string>{400, "messages"});
    CHECK(refusal(R"({"messages":[]})") == std::pair<int, std::string>{400, "messages"});
    CHECK(refusal(R"({"messages":"hi"})") == std::pair<int, std::string>{400, "messages"});
    CHECK(refusal(R"({"messages":[1]})") == std::pair<int, std::string>{400, "messages[0]"});
    CHECK(refusal(R"({"messages":[{"content":"x"}]})") ==
          std::pair<int, std::string>{400, "messages[0].role"});
    CHECK(refusal(R"({"messages":[{"role":"wizard","content":"x"}]})") ==
          std::pair<int, std::string>{400, "messages[0].role"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":5}]})") ==
          std::pair<int, std::string>{400, "messages[0].content"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"model":"gpt-4"})") ==
          std::pair<int, std::string>{404, "model"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})") ==
          std::pair<int, std::string>{400, "max_tokens"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":257})") ==
          std::pair<int, std::string>{400, "max_tokens"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"5"})") ==
          std::pair<int, std::string>{400, "max_tokens"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})") ==
          std::pair<int, std::string>{400, "temperature"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"temperature":5})") ==
          std::pair<int, std::string>{400, "temperature"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"top_k":-1})") ==
          std::pair<int, std::string>{400, "top_k"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"frequency_penalty":2.5})") ==
          std::pair<int, std::string>{400, "frequency_penalty"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})") ==
          std::pair<int, std::string>{400, "stop"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})") ==
          std::pair<int, std::string>{400, "stream"});
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"}],"n":2})") ==
          std::pair<int, std::string>{400, "n"});
    CHECK(
        refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999})").first ==
        400);
    CHECK(refusal(R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]})") ==
          std::pair<int, std::string>{400, "messages"});
}

TEST_CASE("invalid UTF-8 inside a string is a JSON error") {
    CHECK(refusal("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}").first == 400);
}

TEST_CASE("completion prompts: a string or an array of one") {
    CHECK(parse_completion_request(R"({"prompt":"Once"})", limits()).prompt == "Once");
    CHECK(parse_completion_request(R"({"prompt":["Once"]})", limits()).prompt == "Once");
    CHECK_THROWS_AS(parse_completion_request(R"({"prompt":["a","b"]})", limits()), ApiError);
    CHECK_THROWS_AS(parse_completion_request(R"({"prompt":""})", limits()), ApiError);
    CHECK_THROWS_AS(parse_completion_request(R"({})", limits()), ApiError);
}
