// Tool calling in Qwen3's format: the prompt's JSON as the template's tojson writes it, the
// request's tools and calls parsed, and <tool_call> blocks of an answer (whole or streamed
// in any split) turned into OpenAI tool_calls.
#include "serve/api_error.h"
#include "serve/openai_format.h"
#include "serve/request.h"
#include "serve/tool_calls.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace ferry;
using namespace ferry::serve;

namespace {

RequestLimits limits() {
    RequestLimits l;
    l.model_id = "demo";
    l.random_seed = false;
    return l;
}

// A whole answer through the stream: its text (trimmed) and calls.
struct Split {
    std::string content;
    std::vector<text::ToolCall> calls;
};
Split split_tool_calls(const std::string& answer) {
    ToolCallStream s;
    ToolCallStream::Out a = s.push(answer), b = s.finish();
    std::string text = a.text + b.text;
    text.erase(0, text.find_first_not_of(" \n"));
    text.erase(text.find_last_not_of(" \n") + 1);
    a.calls.insert(a.calls.end(), b.calls.begin(), b.calls.end());
    return {text, a.calls};
}

const std::string kAnswer =
    "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n"
    "</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>";

}  // namespace

TEST_CASE("python_json writes as json.dumps: spaced separators, keys in order, UTF-8 as is") {
    const auto j = nlohmann::ordered_json::parse(
        R"({"type":"function","function":{"name":"f","parameters":{"z":[1,2.5,true,null],"a":"é\"\n"}}})");
    CHECK(python_json(j) ==
          R"({"type": "function", "function": {"name": "f", "parameters": {"z": [1, 2.5, true, null], "a": "é\"\n"}}})");
    CHECK(python_json(nlohmann::ordered_json::object()) == "{}");
    CHECK(python_json(nlohmann::ordered_json::array()) == "[]");
}

TEST_CASE("a whole answer: text and calls apart, arguments as compact JSON text") {
    const Split a = split_tool_calls(kAnswer);
    CHECK(a.content == "Let me check.");
    REQUIRE(a.calls.size() == 2);
    CHECK(a.calls[0].name == "get_weather");
    CHECK(a.calls[0].arguments == R"({"city":"Paris","days":2})");
    CHECK(a.calls[1].name == "now");
    CHECK(a.calls[1].arguments == "{}");
    // Not a call (no name, not JSON): the block stays text, as written.
    CHECK(split_tool_calls("<tool_call>\n{\"x\": 1}\n</tool_call>").calls.empty());
    CHECK(split_tool_calls("a <tool_call>oops</tool_call>").content == "a <tool_call>oops</tool_call>");
    // An answer that ends inside a call whose body is complete still yields it.
    CHECK(split_tool_calls("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n").calls.size() == 1);
    CHECK(split_tool_calls("plain <tool_ca").content == "plain <tool_ca");
}

TEST_CASE("a streamed answer in every two-piece split gives the same text and calls") {
    for (std::size_t cut = 0; cut <= kAnswer.size(); ++cut) {
        CAPTURE(cut);
        ToolCallStream s;
        ToolCallStream::Out a = s.push(kAnswer.substr(0, cut)), b = s.push(kAnswer.substr(cut)), c = s.finish();
        CHECK(a.text + b.text + c.text == "Let me check.\n\n");
        CHECK(a.calls.size() + b.calls.size() + c.calls.size() == 2);
        // Nothing of a call leaks as text before it is complete.
        CHECK(a.text.find('<') == std::string::npos);
    }
}

TEST_CASE("tools, tool results and calls in a chat request") {
    const ChatRequest r = parse_chat_request(
        R"({"messages":[{"role":"user","content":"Weather?"},
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
              "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"18 C"}],
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})",
        limits());
    REQUIRE(r.tools.size() == 1);
    CHECK(r.tools[0] == R"({"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}})");
    REQUIRE(r.messages.size() == 3);
    REQUIRE(r.messages[1].tool_calls.size() == 1);
    CHECK(r.messages[1].tool_calls[0].arguments == R"({"city":"Paris"})");
    CHECK(r.messages[2].role == "tool");
    CHECK(parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"none",
                                 "tools":[{"type":"function","function":{"name":"f"}}]})",
                             limits())
              .tools.empty());
    auto refused = [](const char* body) {
        try {
            parse_chat_request(body, limits());
        } catch (const ApiError& e) {
            const nlohmann::json body = e.body();
            const auto& param = body["error"]["param"];
            return param.is_null() ? std::string() : param.get<std::string>();
        }
        return std::string("accepted");
    };
    CHECK(refused(R"({"messages":[{"role":"user","content":"x"}],"tools":{}})") == "tools");
    CHECK(refused(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})") ==
          "tools[0].function");
    CHECK(refused(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required",
                      "tools":[{"type":"function","function":{"name":"f"}}]})") == "tool_choice");
    CHECK(refused(R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]},
                      {"role":"user","content":"x"}]})") == "messages[0].tool_calls[0].function");
    CHECK(refused(R"({"messages":[{"role":"tool"}]})") == "messages[0].content");
}

TEST_CASE("a completion that called functions: content null, tool_calls in OpenAI's shape") {
    const ResponseMeta meta{"chatcmpl-7", 1700000000, "demo"};
    const std::vector<text::ToolCall> calls{{"get_weather", R"({"city":"Paris"})"}};
    const nlohmann::json j = chat_completion(meta, "", "tool_calls", {}, calls);
    const auto& m = j["choices"][0]["message"];
    CHECK(m["content"].is_null());
    CHECK(m["tool_calls"][0]["id"] == "call_7_0");
    CHECK(m["tool_calls"][0]["type"] == "function");
    CHECK(m["tool_calls"][0]["function"]["name"] == "get_weather");
    CHECK(m["tool_calls"][0]["function"]["arguments"] == R"({"city":"Paris"})");
    CHECK(j["choices"][0]["finish_reason"] == "tool_calls");
    CHECK(tool_calls_json(meta, calls, 3)[0]["index"] == 3);
}
