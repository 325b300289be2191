#include "text/chat_template.h"

#include "base/error.h"
#include "text/harmony_tools.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <utility>

namespace ferry::text {

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\n\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\n\r");
    return s.substr(first, last - first + 1);
}

// System messages folded into the first user turn, for formats without a system role.
std::vector<ChatMessage> fold_system_into_first_user(std::span<const ChatMessage> messages) {
    std::string system;
    std::vector<ChatMessage> out;
    for (const ChatMessage& m : messages) {
        if (m.role == "system") {
            if (!system.empty()) system += "\n\n";
            system += m.content;
        } else {
            out.push_back(m);
        }
    }
    if (!system.empty()) {
        for (ChatMessage& m : out)
            if (m.role == "user") {
                m.content = system + "\n\n" + m.content;
                return out;
            }
        out.insert(out.begin(), ChatMessage{"user", system});
    }
    return out;
}

std::string render_chatml(std::span<const ChatMessage> messages, const ChatOptions& o) {
    std::string s;
    for (const ChatMessage& m : messages) s += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (o.add_generation_prompt) s += "<|im_start|>assistant\n";
    return s;
}

// Qwen3's tools block: the system turn lists the functions and how to call them.
std::string qwen3_tools_system(std::span<const std::string> tools, const ChatMessage* system) {
    std::string s = "<|im_start|>system\n";
    if (system) s += system->content + "\n\n";
    s += "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const std::string& t : tools) s += "\n" + t;
    s += "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
         "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
         "<args-json-object>}\n</tool_call><|im_end|>\n";
    return s;
}

// A function's result: consecutive tool messages share one user turn.
std::string qwen3_tool_response(std::span<const ChatMessage> messages, std::size_t i) {
    std::string s;
    if (i == 0 || messages[i - 1].role != "tool") s += "<|im_start|>user";
    s += "\n<tool_response>\n" + messages[i].content + "\n</tool_response>";
    if (i + 1 == messages.size() || messages[i + 1].role != "tool") s += "<|im_end|>\n";
    return s;
}

bool is_tool_response(const ChatMessage& m) {
    return m.content.starts_with("<tool_response>") && m.content.ends_with("</tool_response>");
}

// Qwen3's published template (tokenizer_config.json of Qwen3): earlier assistant turns lose
// their <think> block; turns after the last user query keep it; enable_thinking = false
// pre-fills an empty think block. With tools, the system turn lists them, an assistant's
// calls follow its text as <tool_call> blocks and results come back as <tool_response>.
std::string render_qwen3(std::span<const ChatMessage> messages, const ChatOptions& o, ChatFormat format) {
    std::size_t last_user = messages.size();
    for (std::size_t i = messages.size(); i-- > 0;)
        if (messages[i].role == "user" && !is_tool_response(messages[i])) {
            last_user = i;
            break;
        }
    const bool system_first = !messages.empty() && messages[0].role == "system";
    std::string s;
    if (!o.tools.empty()) s = qwen3_tools_system(o.tools, system_first ? &messages[0] : nullptr);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (i == 0 && system_first && !o.tools.empty()) continue;  // in the tools block
        if (m.role == "tool") {
            s += qwen3_tool_response(messages, i);
            continue;
        }
        if (m.role != "assistant") {
            s += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
            continue;
        }
        std::string content = m.content, reasoning;
        if (const auto end = content.rfind("</think>"); end != std::string::npos) {
            std::string before = content.substr(0, end);
            content = content.substr(end + 8);
            content.erase(0, std::min(content.size(), content.find_first_not_of('\n')));
            if (const auto open = before.rfind("<think>"); open != std::string::npos)
                before = before.substr(open + 7);
            before.erase(0, std::min(before.size(), before.find_first_not_of('\n')));
            while (!before.empty() && before.back() == '\n') before.pop_back();
            reasoning = before;
        }
        const bool keep_thinking =
            last_user != messages.size() && i > last_user && (i + 1 == messages.size() || !reasoning.empty());
        if (keep_thinking)
            s += "<|im_start|>assistant\n<think>\n" + reasoning + "\n</think>\n\n" + content;
        else
            s += "<|im_start|>assistant\n" + content;
        for (std::size_t k = 0; k < m.tool_calls.size(); ++k) {
            if (k > 0 || !content.empty()) s += "\n";
            s += "<tool_call>\n{\"name\": \"" + m.tool_calls[k].name + "\", \"arguments\": " +
                 m.tool_calls[k].arguments + "}\n</tool_call>";
        }
        s += "<|im_end|>\n";
    }
    if (o.add_generation_prompt) {
        s += "<|im_start|>assistant\n";
        if (!o.enable_thinking)
            s += "<think>\n\n</think>\n\n";
        else if (prompt_opens_reasoning(format, o))
            s += "<think>\n";
    }
    return s;
}

// Mixtral-8x7B-Instruct-v0.1: bos, then "[INST] user [/INST]" and "assistant" + eos.
std::string render_mistral(std::span<const ChatMessage> messages, const ChatOptions& o) {
    std::string s = o.bos_text;
    for (const ChatMessage& m : fold_system_into_first_user(messages)) {
        if (m.role == "user")
            s += "[INST] " + m.content + " [/INST]";
        else
            s += m.content + o.eos_text;
    }
    return s;
}

// DeepSeek-V2 Chat's template (tokenizer_config.json of DeepSeek-V2-Lite-Chat): BOS, a
// system message as a paragraph of its own, "User: " and "Assistant: " turns, the
// assistant's closed by EOS; the generation prompt "Assistant:" without a space.
std::string render_deepseek2(std::span<const ChatMessage> messages, const ChatOptions& o) {
    std::string s = o.bos_text;
    for (const ChatMessage& m : messages) {
        if (m.role == "system")
            s += m.content + "\n\n";
        else if (m.role == "user")
            s += "User: " + m.content + "\n\n";
        else
            s += "Assistant: " + m.content + o.eos_text;
    }
    if (o.add_generation_prompt) s += "Assistant:";
    return s;
}

// An earlier Gemma 4 answer without its thought channels (the template's strip_thinking:
// what lies between <|channel> and <channel|> goes), trimmed.
std::string gemma4_strip_thinking(std::string_view text) {
    std::string out;
    for (std::size_t at = 0; at <= text.size();) {
        const std::size_t close = text.find("<channel|>", at);
        const std::string_view part = text.substr(at, close == std::string_view::npos ? std::string_view::npos : close - at);
        out += part.substr(0, part.find("<|channel>"));
        if (close == std::string_view::npos) break;
        at = close + 10;
    }
    return std::string(trim(out));
}

// Gemma 4's template (llama.cpp's models/templates/gemma4.jinja, text turns): BOS; a
// system turn when thinking is on or the conversation starts with a system message
// (<|think|> first when thinking); turns <|turn>role\n content <turn|>\n with "model" for
// the assistant, contents trimmed and earlier answers without their thoughts; the
// generation prompt <|turn>model\n, with an empty thought channel when thinking is off.
std::string render_gemma4(std::span<const ChatMessage> messages, const ChatOptions& o) {
    std::string s = o.bos_text;
    const bool system_first = !messages.empty() && messages[0].role == "system";
    if (o.enable_thinking || system_first) {
        s += "<|turn>system\n";
        if (o.enable_thinking) s += "<|think|>";
        if (system_first) s += trim(messages[0].content);
        s += "<turn|>\n";
    }
    for (std::size_t i = system_first ? 1 : 0; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        const bool model = m.role == "assistant";
        s += "<|turn>" + std::string(model ? "model" : m.role) + "\n" +
             (model ? gemma4_strip_thinking(m.content) : std::string(trim(m.content))) + "<turn|>\n";
    }
    if (o.add_generation_prompt) {
        s += "<|turn>model\n";
        if (!o.enable_thinking) s += "<|channel>thought\n<channel|>";
    }
    return s;
}

// Gemma: no system role (folded into the first user turn), assistant is "model".
std::string render_gemma(std::span<const ChatMessage> messages, const ChatOptions& o) {
    std::string s = o.bos_text;
    for (const ChatMessage& m : fold_system_into_first_user(messages)) {
        const std::string role = m.role == "assistant" ? "model" : m.role;
        s += "<start_of_turn>" + role + "\n" + std::string(trim(m.content)) + "<end_of_turn>\n";
    }
    if (o.add_generation_prompt) s += "<start_of_turn>model\n";
    return s;
}

std::string render_headers(std::span<const ChatMessage> messages, const ChatOptions& o, std::string_view open,
                           std::string_view close, std::string_view end) {
    std::string s = o.bos_text;
    for (const ChatMessage& m : messages)
        s += std::string(open) + m.role + std::string(close) + "\n\n" + std::string(trim(m.content)) +
             std::string(end);
    if (o.add_generation_prompt) s += std::string(open) + "assistant" + std::string(close) + "\n\n";
    return s;
}

std::string today() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

// An earlier answer's final-channel text. `ferry chat` keeps what the model wrote, headers
// included (<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final
// <|message|>answer); a plain text is the answer itself.
std::string harmony_final_text(const std::string& content) {
    constexpr std::string_view final_header = "<|channel|>final<|message|>";
    const auto at = content.rfind(final_header);
    if (at == std::string::npos) return content.find("<|channel|>") == std::string::npos ? content : std::string();
    std::string text = content.substr(at + final_header.size());
    for (std::string_view end : {"<|end|>", "<|return|>"})
        if (const auto e = text.find(end); e != std::string::npos) text.resize(e);
    return text;
}

// OpenAI harmony format (gpt-oss): a fixed system message with date and reasoning effort,
// the user's system prompt as the developer's instructions (followed by a blank line, as
// gpt-oss's chat_template.jinja writes them), earlier answers on the final channel (their
// analysis is dropped, as the format's guide says).
std::string render_harmony(std::span<const ChatMessage> messages, const ChatOptions& o) {
    const bool tools = !o.tools.empty();
    std::string s =
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\nCurrent date: " +
        (o.harmony_date.empty() ? today() : o.harmony_date) + "\n\nReasoning: " + o.harmony_reasoning +
        "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message." +
        (tools ? "\nCalls to these tools must go to the commentary channel: 'functions'." : "") + "<|end|>";
    std::string instructions;
    for (const ChatMessage& m : messages)
        if (m.role == "system") instructions += (instructions.empty() ? "" : "\n\n") + m.content;
    if (!instructions.empty() || tools) {  // as the template: a blank line after the instructions
        s += "<|start|>developer<|message|>";
        if (!instructions.empty()) s += "# Instructions\n\n" + instructions + "\n\n";
        if (tools) s += harmony_functions(o.tools);
        s += "<|end|>";
    }
    std::string last_call;  // the function a tool message answers: the latest call's
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == "user") {
            s += "<|start|>user<|message|>" + m.content + "<|end|>";
        } else if (m.role == "tool") {
            if (last_call.empty()) fail("a tool message follows no assistant tool call");
            s += "<|start|>functions." + last_call + " to=assistant<|channel|>commentary<|message|>" +
                 json_string(m.content) + "<|end|>";
        } else if (m.role == "assistant" && !m.tool_calls.empty()) {
            // The call's text stays as analysis until a later final answer (the template).
            const bool final_later = std::any_of(messages.begin() + std::ptrdiff_t(i) + 1, messages.end(),
                                                 [](const ChatMessage& n) { return n.role == "assistant" && n.tool_calls.empty(); });
            if (!m.content.empty() && !final_later)
                s += "<|start|>assistant<|channel|>analysis<|message|>" + m.content + "<|end|>";
            const ToolCall& call = m.tool_calls.front();  // the template renders one call per message
            s += "<|start|>assistant to=functions." + call.name + "<|channel|>commentary json<|message|>" +
                 harmony_arguments(call.arguments) + "<|call|>";
            last_call = call.name;
        } else if (m.role == "assistant") {
            s += "<|start|>assistant<|channel|>final<|message|>" + harmony_final_text(m.content) + "<|end|>";
            last_call.clear();
        }
    }
    if (o.add_generation_prompt) s += "<|start|>assistant";
    return s;
}

constexpr std::array<std::pair<ChatFormat, std::string_view>, 10> kNames{{
    {ChatFormat::ChatML, "chatml"},
    {ChatFormat::Qwen3, "qwen3"},
    {ChatFormat::Qwen35, "qwen35"},
    {ChatFormat::Mistral, "mistral"},
    {ChatFormat::Gemma, "gemma"},
    {ChatFormat::Gemma4, "gemma4"},
    {ChatFormat::Llama3, "llama3"},
    {ChatFormat::Llama4, "llama4"},
    {ChatFormat::Harmony, "harmony"},
    {ChatFormat::DeepSeek2, "deepseek2"},
}};

}  // namespace

std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                        const ChatOptions& options) {
    const bool tools = supports_tools(format, options);
    for (const ChatMessage& m : messages) {
        if (m.role == "tool" ? !tools : m.role != "system" && m.role != "user" && m.role != "assistant")
            fail("chat message has role '{}': expected system, user or assistant{}", m.role,
                 tools ? " or tool" : "");
        if (!m.tool_calls.empty() && !tools)
            fail("the {} chat format has no tool calls (ferry renders them for qwen3 and harmony)",
                 chat_format_name(format));
    }
    if (!options.tools.empty() && !tools)
        fail("the {} chat format has no tool calling (ferry renders tools for qwen3 and harmony)",
             chat_format_name(format));
    switch (format) {
        case ChatFormat::ChatML:
            return render_chatml(messages, options);
        case ChatFormat::Qwen3:
        case ChatFormat::Qwen35:
            return render_qwen3(messages, options, format);
        case ChatFormat::Mistral:
            return render_mistral(messages, options);
        case ChatFormat::Gemma:
            return render_gemma(messages, options);
        case ChatFormat::Gemma4:
            return render_gemma4(messages, options);
        case ChatFormat::Llama3:
            return render_headers(messages, options, "<|start_header_id|>", "<|end_header_id|>",
                                  "<|eot_id|>");
        case ChatFormat::Llama4:
            return render_headers(messages, options, "<|header_start|>", "<|header_end|>", "<|eot|>");
        case ChatFormat::Harmony:
            return render_harmony(messages, options);
        case ChatFormat::DeepSeek2:
            return render_deepseek2(messages, options);
    }
    fail("unknown chat format");
}

bool has_thinking_switch(ChatFormat format) {
    return format == ChatFormat::Qwen3 || format == ChatFormat::Qwen35 || format == ChatFormat::Gemma4;
}

bool prompt_opens_reasoning(ChatFormat format, const ChatOptions& o) {
    return format == ChatFormat::Qwen35 && o.add_generation_prompt && o.enable_thinking;
}

// Qwen3.5's own tool format is not rendered: its templates are not among the published
// ones ferry's tests derive from, so its tools are refused unless the model's template is
// Qwen3's for tools.
bool supports_tools(ChatFormat format, const ChatOptions& options) {
    return format == ChatFormat::Qwen3 || format == ChatFormat::Harmony ||
           (format == ChatFormat::Qwen35 && options.qwen3_tool_calls);
}

bool template_has_qwen3_tools(std::string_view t) {
    return contains(t, "function signatures within <tools></tools> XML tags") && contains(t, "<tool_call>") &&
           contains(t, "<args-json-object>");
}

std::string_view chat_format_name(ChatFormat format) {
    for (const auto& [f, name] : kNames)
        if (f == format) return name;
    return "unknown";
}

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
    if (name == "gpt-oss") return ChatFormat::Harmony;
    for (const auto& [f, n] : kNames)
        if (n == name) return f;
    return std::nullopt;
}

std::string chat_format_names() {
    std::string s;
    for (const auto& [f, name] : kNames) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
}

DetectedFormat detect_chat_format(std::string_view t, std::string_view arch) {
    if (!t.empty()) {
        if (contains(t, "<|channel|>") || (contains(t, "<|start|>") && contains(t, "<|message|>")))
            return {ChatFormat::Harmony, true};
        // Qwen3.5/3.6 open the think block in the generation prompt: their Jinja has the
        // literal '<|im_start|>assistant\n<think>\n' (or '<think>\n' on its own); Qwen3's
        // only writes the closed, empty block.
        if (contains(t, "<|im_start|>") &&
            (contains(t, R"(assistant\n<think>\n')") || contains(t, R"('<think>\n')")))
            return {ChatFormat::Qwen35, true};
        if (contains(t, "<|im_start|>"))
            return {contains(t, "<think>") || contains(t, "enable_thinking") ? ChatFormat::Qwen3
                                                                             : ChatFormat::ChatML,
                    true};
        if (contains(t, "<|turn>")) return {ChatFormat::Gemma4, true};
        if (contains(t, "<|start_header_id|>")) return {ChatFormat::Llama3, true};
        if (contains(t, "<|header_start|>")) return {ChatFormat::Llama4, true};
        if (contains(t, "<start_of_turn>")) return {ChatFormat::Gemma, true};
        if (contains(t, "[INST]")) return {ChatFormat::Mistral, true};
        if (contains(t, "'Assistant: ' + message['content'] + eos_token")) return {ChatFormat::DeepSeek2, true};
        return {ChatFormat::ChatML, false};
    }
    if (arch == "qwen35moe") return {ChatFormat::Qwen35, true};
    if (arch.starts_with("qwen3")) return {ChatFormat::Qwen3, true};
    if (arch.starts_with("qwen2") || arch == "olmoe") return {ChatFormat::ChatML, true};
    if (arch == "gemma4") return {ChatFormat::Gemma4, true};
    if (arch.starts_with("gemma")) return {ChatFormat::Gemma, true};
    if (arch == "gpt-oss") return {ChatFormat::Harmony, true};
    if (arch == "llama4") return {ChatFormat::Llama4, true};
    return {ChatFormat::ChatML, false};
}

std::vector<std::string> end_of_turn_texts(ChatFormat format) {
    switch (format) {
        case ChatFormat::ChatML:
        case ChatFormat::Qwen3:
        case ChatFormat::Qwen35:
            return {"<|im_end|>"};
        case ChatFormat::Mistral:
            return {"</s>"};
        case ChatFormat::Gemma:
            return {"<end_of_turn>"};
        case ChatFormat::Gemma4:
            return {"<turn|>"};
        case ChatFormat::Llama3:
            return {"<|eot_id|>"};
        case ChatFormat::Llama4:
            return {"<|eot|>"};
        case ChatFormat::Harmony:
            return {"<|return|>", "<|call|>"};
        case ChatFormat::DeepSeek2:
            return {"<｜end▁of▁sentence｜>"};
    }
    return {};
}

}  // namespace ferry::text
