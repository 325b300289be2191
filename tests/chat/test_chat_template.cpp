// Expected strings are written out from each family's published format:
// - Qwen3: the chat_template in ../shared/data/tokenizers/qwen3/tokenizer_config.json
// - Llama 3: the chat_template in ../shared/data/tokenizers/llama3/tokenizer_config.json
// - Mixtral: Mixtral-8x7B-Instruct-v0.1 tokenizer_config.json ("[INST] " + user + " [/INST]",
//   assistant + eos_token, bos first)
// - Gemma: Gemma's model card prompt format (<start_of_turn>user / model, <end_of_turn>;
//   the system prompt is prepended to the first user turn)
// - gpt-oss: the OpenAI harmony response format guide and gpt-oss's chat_template.jinja
//   (llama.cpp's models/templates/openai-gpt-oss-120b.jinja: "# Instructions\n\n" + the
//   developer message + "\n\n" before <|end|>) (system, developer "# Instructions",
//   <|start|>assistant generation prompt, earlier answers on the final channel)
// - Gemma 4: llama.cpp's models/templates/gemma4.jinja (text turns: {{ bos_token }}; a system
//   turn '<|turn>system\n' + '<|think|>' when enable_thinking + the trimmed system message +
//   '<turn|>\n', written when thinking is on or a system message comes first; each turn
//   '<|turn>' + role ('model' for assistant) + '\n' + trimmed content (answers through
//   strip_thinking: text between '<|channel>' and '<channel|>' removed) + '<turn|>\n';
//   generation prompt '<|turn>model\n' + '<|channel>thought\n<channel|>' when thinking is off)
// - DeepSeek-V2: DeepSeek-V2-Lite-Chat's tokenizer_config.json chat_template ({{ bos_token }},
//   system content + '\n\n', 'User: ' + content + '\n\n', 'Assistant: ' + content + eos_token,
//   generation prompt 'Assistant:'), as llama.cpp's built-in deepseek2 renderer writes it
#include "base/error.h"
#include "text/chat_template.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <vector>

using namespace ferry;
using namespace ferry::text;

namespace {

const std::vector<ChatMessage> kConversation{
    {"system", "You are terse."},
    {"user", "Hi"},
    {"assistant", "Hello."},
    {"user", "2+2?"},
};

}  // namespace

TEST_CASE("ChatML") {
    CHECK(render_chat(ChatFormat::ChatML, kConversation, {}) ==
          "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
          "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("Qwen3 drops earlier reasoning and honours enable_thinking") {
    std::vector<ChatMessage> c = kConversation;
    c[2].content = "<think>\nThe user greets.\n</think>\n\nHello.";
    const std::string history =
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n";
    CHECK(render_chat(ChatFormat::Qwen3, c, {}) == history + "<|im_start|>assistant\n");
    ChatOptions no_think;
    no_think.enable_thinking = false;
    CHECK(render_chat(ChatFormat::Qwen3, c, no_think) == history + "<|im_start|>assistant\n<think>\n\n</think>\n\n");

    // An assistant turn after the last user message keeps its reasoning.
    c.push_back({"assistant", "<think>\nadd\n</think>\n\n4"});
    ChatOptions no_prompt;
    no_prompt.add_generation_prompt = false;
    CHECK(render_chat(ChatFormat::Qwen3, c, no_prompt) ==
          history + "<|im_start|>assistant\n<think>\nadd\n</think>\n\n4<|im_end|>\n");
}

// Qwen3.5/3.6 (ARCHITECTURES.md): the generation prompt opens the think block when
// thinking is on, and is Qwen3's empty block when off; the history renders as Qwen3's.
TEST_CASE("Qwen3.5 opens the think block in the generation prompt") {
    const std::string history =
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n";
    CHECK(render_chat(ChatFormat::Qwen35, kConversation, {}) == history + "<|im_start|>assistant\n<think>\n");
    CHECK(prompt_opens_reasoning(ChatFormat::Qwen35, {}));
    ChatOptions no_think;
    no_think.enable_thinking = false;
    CHECK(render_chat(ChatFormat::Qwen35, kConversation, no_think) ==
          history + "<|im_start|>assistant\n<think>\n\n</think>\n\n");
    CHECK_FALSE(prompt_opens_reasoning(ChatFormat::Qwen35, no_think));
    CHECK_FALSE(prompt_opens_reasoning(ChatFormat::Qwen3, {}));
    // An answer as the model wrote it after that prompt (no opening tag) loses its
    // reasoning in a later turn, as Qwen3's does.
    std::vector<ChatMessage> c = kConversation;
    c[2].content = "The user greets.\n</think>\n\nHello.";
    CHECK(render_chat(ChatFormat::Qwen35, c, {}) == history + "<|im_start|>assistant\n<think>\n");
    CHECK(has_thinking_switch(ChatFormat::Qwen35));
}

// The template's tools branch, written out: the system turn lists the functions (each
// `tool | tojson`), the assistant's call follows its (empty) text without a newline, and
// consecutive tool results share one user turn of <tool_response> blocks.
TEST_CASE("Qwen3 tools: the system block, an assistant's call, results as tool responses") {
    const std::string tool =
        R"({"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}})";
    const std::vector<ChatMessage> c{
        {"system", "You are terse."},
        {"user", "Weather in Paris?"},
        {"assistant", "", {{"get_weather", R"({"city": "Paris"})"}}},
        {"tool", "18 C"},
        {"tool", "sunny"},
    };
    ChatOptions o;
    o.tools = {tool};
    const std::string expected =
        "<|im_start|>system\nYou are terse.\n\n# Tools\n\nYou may call one or more functions to assist with "
        "the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
        tool +
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
        "<args-json-object>}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
        "</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n18 C\n</tool_response>\n<tool_response>\nsunny\n</tool_response>"
        "<|im_end|>\n"
        "<|im_start|>assistant\n";
    CHECK(render_chat(ChatFormat::Qwen3, c, o) == expected);

    // Text before the calls, two calls: a newline before each; no tools and no system:
    // no system turn at all.
    const std::vector<ChatMessage> two{
        {"user", "Both?"},
        {"assistant", "Checking.", {{"a", "{}"}, {"b", R"({"x": 1})"}}},
        {"tool", "1"},
    };
    CHECK(render_chat(ChatFormat::Qwen3, two, {}) ==
          "<|im_start|>user\nBoth?<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"a\", "
          "\"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": 1}}\n"
          "</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n1\n</tool_response><|im_end|>\n"
          "<|im_start|>assistant\n");
}

// gpt-oss's chat_template.jinja (llama.cpp's models/templates/openai-gpt-oss-120b.jinja),
// rendered by hand with Hugging Face's trim_blocks/lstrip_blocks: the system message names
// the commentary channel for calls; the developer message holds the instructions and the
// functions namespace (a parameter's type as render_typescript_type writes it, "?" when not
// required, its default after ", // default: ", then ",\n"); an assistant's call is a
// commentary message to functions.NAME ending <|call|> (its arguments tojson'ed, its text as
// analysis while no final answer follows); the result comes from functions.NAME, tojson'ed.
TEST_CASE("harmony tools: the functions namespace, a call and its result") {
    const std::string tool =
        R"({"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", )"
        R"("parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}, )"
        R"("unit": {"type": "string", "enum": ["c", "f"], "default": "c"}, "days": {"type": "integer", "default": 1}, )"
        R"("tags": {"type": "array", "items": {"type": "string"}}}, "required": ["city"]}}})";
    const std::string none = R"({"type": "function", "function": {"name": "now", "description": "The time"}})";
    ChatOptions o;
    o.harmony_date = "2026-12-04";
    o.tools = {tool, none};
    const std::vector<ChatMessage> c{
        {"system", "Be brief."},
        {"user", "Weather in Paris?"},
        {"assistant", "Checking.", {{"get_weather", R"({"city":"Paris"})"}}},
        {"tool", "18 C"},
    };
    const std::string expected =
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\nCurrent date: 2026-12-04\n\nReasoning: medium\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every message.\n"
        "Calls to these tools must go to the commentary channel: 'functions'.<|end|>"
        "<|start|>developer<|message|># Instructions\n\nBe brief.\n\n# Tools\n\n## functions\n\n"
        "namespace functions {\n\n"
        "// Weather of a city\ntype get_weather = (_: {\n// The city\ncity: string,\n"
        "unit?: \"c\" | \"f\", // default: c,\ndays?: number, // default: 1,\ntags?: string[],\n}) => any;\n\n"
        "// The time\ntype now = () => any;\n\n"
        "} // namespace functions<|end|>"
        "<|start|>user<|message|>Weather in Paris?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Checking.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}<|call|>"
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>\"18 C\"<|end|>"
        "<|start|>assistant";
    CHECK(render_chat(ChatFormat::Harmony, c, o) == expected);
    // A tool message with no call before it is refused.
    const std::vector<ChatMessage> orphan{{"user", "x"}, {"tool", "y"}};
    CHECK_THROWS_AS(render_chat(ChatFormat::Harmony, orphan, o), Error);
}

TEST_CASE("Qwen3's tool instructions are recognised in a template's text") {
    std::ifstream in(std::string(FERRY_SHARED_DATA_DIR) + "/tokenizers/qwen3/tokenizer_config.json");
    REQUIRE(in);
    const std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(template_has_qwen3_tools(config));  // the published Qwen3 template (JSON-escaped here)
    CHECK_FALSE(template_has_qwen3_tools("{{'<|im_start|>' + role}} <tool_call>"));
}

TEST_CASE("formats without tool calling refuse tools, tool results and calls") {
    ChatOptions o;
    o.tools = {R"({"type": "function"})"};
    const std::vector<ChatMessage> user{{"user", "x"}};
    CHECK_THROWS_AS(render_chat(ChatFormat::Mistral, user, o), Error);
    const std::vector<ChatMessage> tool{{"user", "x"}, {"tool", "y"}};
    CHECK_THROWS_AS(render_chat(ChatFormat::ChatML, tool, {}), Error);
    CHECK(supports_tools(ChatFormat::Qwen3));
    CHECK(supports_tools(ChatFormat::Harmony));
    CHECK_FALSE(supports_tools(ChatFormat::Qwen35));
    ChatOptions qwen3_tools;
    qwen3_tools.qwen3_tool_calls = true;  // a think-opening template with Qwen3's tool text
    CHECK(supports_tools(ChatFormat::Qwen35, qwen3_tools));
}

TEST_CASE("Mixtral [INST] with bos/eos and the system prompt folded in") {
    ChatOptions o;
    o.bos_text = "<s>";
    o.eos_text = "</s>";
    CHECK(render_chat(ChatFormat::Mistral, kConversation, o) ==
          "<s>[INST] You are terse.\n\nHi [/INST]Hello.</s>[INST] 2+2? [/INST]");
}

TEST_CASE("DeepSeek-V2 User: / Assistant: turns, bos first, the answer closed by eos") {
    ChatOptions o;
    o.bos_text = "<｜begin▁of▁sentence｜>";
    o.eos_text = "<｜end▁of▁sentence｜>";
    CHECK(render_chat(ChatFormat::DeepSeek2, kConversation, o) ==
          "<｜begin▁of▁sentence｜>You are terse.\n\nUser: Hi\n\nAssistant: Hello.<｜end▁of▁sentence｜>User: 2+2?\n\n"
          "Assistant:");
    CHECK(end_of_turn_texts(ChatFormat::DeepSeek2) == std::vector<std::string>{"<｜end▁of▁sentence｜>"});
    CHECK(detect_chat_format("{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + "
                             "eos_token }}",
                             "deepseek2")
              .format == ChatFormat::DeepSeek2);
    CHECK(chat_format_from_name("deepseek2") == ChatFormat::DeepSeek2);
}

TEST_CASE("Gemma 4 turns, its system turn and thought channel, thinking on and off") {
    ChatOptions o;
    o.bos_text = "<bos>";
    o.enable_thinking = false;
    CHECK(render_chat(ChatFormat::Gemma4, kConversation, o) ==
          "<bos><|turn>system\nYou are terse.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\nHello.<turn|>\n"
          "<|turn>user\n2+2?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
    // No system message and thinking off: no system turn at all.
    const std::vector<ChatMessage> user{{"user", "  Hi \n"}};
    CHECK(render_chat(ChatFormat::Gemma4, user, o) == "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
    // Thinking on: <|think|> opens a system turn, the generation prompt leaves the channel to
    // the model, and an earlier answer loses its thoughts.
    o.enable_thinking = true;
    const std::vector<ChatMessage> kept{
        {"user", "Hi"}, {"assistant", "<|channel>thought\nGreet back.<channel|>Hello."}, {"user", "2+2?"}};
    CHECK(render_chat(ChatFormat::Gemma4, kept, o) ==
          "<bos><|turn>system\n<|think|><turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\nHello.<turn|>\n"
          "<|turn>user\n2+2?<turn|>\n<|turn>model\n");
    CHECK(has_thinking_switch(ChatFormat::Gemma4));
    CHECK(end_of_turn_texts(ChatFormat::Gemma4) == std::vector<std::string>{"<turn|>"});
    CHECK(detect_chat_format("{{- '<|turn>' + role + '\\n' }}", "gemma4").format == ChatFormat::Gemma4);
    CHECK(detect_chat_format("", "gemma4").format == ChatFormat::Gemma4);
    CHECK(detect_chat_format("", "gemma3").format == ChatFormat::Gemma);
    CHECK_THROWS_AS(render_chat(ChatFormat::Gemma4, std::vector<ChatMessage>{{"tool", "{}"}}, o), Error);
}

TEST_CASE("Gemma turns") {
    ChatOptions o;
    o.bos_text = "<bos>";
    CHECK(render_chat(ChatFormat::Gemma, kConversation, o) ==
          "<bos><start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
          "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n");
}

TEST_CASE("Llama 3 and Llama 4 headers") {
    ChatOptions o;
    o.bos_text = "<|begin_of_text|>";
    CHECK(render_chat(ChatFormat::Llama3, kConversation, o) ==
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    CHECK(render_chat(ChatFormat::Llama4, std::vector<ChatMessage>{{"user", " Hi "}}, o) ==
          "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|><|header_start|>assistant<|header_end|>\n\n");
}

TEST_CASE("gpt-oss harmony") {
    ChatOptions o;
    o.harmony_date = "2026-11-22";
    CHECK(render_chat(ChatFormat::Harmony, kConversation, o) ==
          "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
          "Knowledge cutoff: 2024-06\nCurrent date: 2026-11-22\n\nReasoning: medium\n\n"
          "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
          "<|start|>developer<|message|># Instructions\n\nYou are terse.\n\n<|end|>"
          "<|start|>user<|message|>Hi<|end|>"
          "<|start|>assistant<|channel|>final<|message|>Hello.<|end|>"
          "<|start|>user<|message|>2+2?<|end|>"
          "<|start|>assistant");
    // An answer as `ferry chat` keeps it (what the model wrote, headers included) renders as
    // its final text; the analysis is dropped.
    const std::vector<ChatMessage> kept = {
        {"user", "Hi"},
        {"assistant", "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hello."},
        {"user", "2+2?"}};
    const std::string r = render_chat(ChatFormat::Harmony, kept, o);
    CHECK(r.find("<|start|>assistant<|channel|>final<|message|>Hello.<|end|><|start|>user") != std::string::npos);
    CHECK(r.find("Greet back.") == std::string::npos);
}

TEST_CASE("format detection from template text and architecture") {
    CHECK(detect_chat_format("{{'<|im_start|>' + role}} {%- if enable_thinking %}", "").format == ChatFormat::Qwen3);
    CHECK(detect_chat_format("{{'<|im_start|>' + role}}", "").format == ChatFormat::ChatML);
    CHECK(detect_chat_format("{{ '[INST] ' + content + ' [/INST]' }}", "llama").format == ChatFormat::Mistral);
    CHECK(detect_chat_format("<start_of_turn>", "").format == ChatFormat::Gemma);
    CHECK(detect_chat_format("<|start_header_id|>", "").format == ChatFormat::Llama3);
    CHECK(detect_chat_format("<|start|>{{role}}<|channel|>", "").format == ChatFormat::Harmony);
    CHECK(detect_chat_format("", "qwen3moe").format == ChatFormat::Qwen3);
    CHECK(detect_chat_format("", "qwen35moe").format == ChatFormat::Qwen35);
    CHECK(detect_chat_format(R"({{- '<|im_start|>assistant\n<think>\n' }})", "").format == ChatFormat::Qwen35);
    CHECK(detect_chat_format(R"(<|im_start|>{%- if enable_thinking %}{{- '<think>\n' }})", "").format ==
          ChatFormat::Qwen35);
    CHECK(detect_chat_format(R"(<|im_start|>{{- '<think>\n\n</think>\n\n' }})", "").format == ChatFormat::Qwen3);
    CHECK(detect_chat_format("", "gpt-oss").format == ChatFormat::Harmony);
    const DetectedFormat unknown = detect_chat_format("{{ weird }}", "llama");
    CHECK(unknown.format == ChatFormat::ChatML);
    CHECK_FALSE(unknown.recognised);
    CHECK(chat_format_from_name("gpt-oss") == ChatFormat::Harmony);
    CHECK_FALSE(chat_format_from_name("vicuna").has_value());
    CHECK_THROWS_AS(render_chat(ChatFormat::ChatML, std::vector<ChatMessage>{{"tool", "x"}}, {}), Error);
}
