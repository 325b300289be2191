#pragma once
// Built-in chat templates for the families ferry targets. We render the formats in C++
// rather than interpret the GGUF's Jinja text: the families are few, their formats are
// published, and a renderer is testable line by line. The GGUF's template string (and the
// architecture) only choose which renderer runs; --chat-template NAME overrides.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::text {

enum class ChatFormat {
    ChatML,   // <|im_start|>role\n...<|im_end|>  (Qwen2/2.5, OLMoE, many fine-tunes)
    Qwen3,    // ChatML + <think> handling and the enable_thinking switch (Qwen3, Qwen3-Next)
    Qwen35,   // Qwen3 whose generation prompt opens the think block (Qwen3.5/3.6)
    Mistral,  // [INST] ... [/INST] (Mistral / Mixtral v0.1 instruct)
    Gemma,    // <start_of_turn>user ... <end_of_turn> (Gemma 2/3)
    Gemma4,   // <|turn>user\n ... <turn|> with a thought channel (Gemma 4)
    Llama3,   // <|start_header_id|>role<|end_header_id|> ... <|eot_id|>
    Llama4,   // <|header_start|>role<|header_end|> ... <|eot|>
    Harmony,  // <|start|>role<|message|> ... <|end|> (gpt-oss)
    DeepSeek2,  // User: ...\n\nAssistant: ...<EOS> (DeepSeek-V2 / V2-Lite Chat)
};

// A function call an assistant turn made (OpenAI's tool_calls[].function).
struct ToolCall {
    std::string name;
    std::string arguments;  // JSON text, written into the prompt as it is
};

struct ChatMessage {
    std::string role;  // "system", "user", "assistant", "tool" (a function's result)
    std::string content;
    std::vector<ToolCall> tool_calls = {};  // assistant turns that called functions
};

struct ChatOptions {
    bool add_generation_prompt = true;
    bool enable_thinking = true;               // Qwen3: false adds an empty <think></think> block;
                                               // Gemma 4: true writes <|think|> into the system turn
    std::string bos_text;                      // text of the BOS token for formats that write it
    std::string eos_text;                      // text of the EOS token (Mistral closes turns with it)
    std::string harmony_date;                  // "YYYY-MM-DD"; empty: today's date
    std::string harmony_reasoning = "medium";  // low | medium | high
    // Functions the model may call, each as the JSON text the template's `tojson` writes
    // (Python's json.dumps: ", " and ": " separators, keys in the client's order). Only
    // formats with tool calling take them (supports_tools); render_chat refuses the others.
    std::vector<std::string> tools = {};
    // Qwen35 (a think-opening Qwen template): the model's own template writes Qwen3's
    // <tool_call> JSON calls (template_has_qwen3_tools), so tools render and parse as Qwen3's.
    bool qwen3_tool_calls = false;
};

std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages, const ChatOptions& options);

std::string_view chat_format_name(ChatFormat format);
// Accepts the names above in lower case ("chatml", "qwen3", "qwen35", "mistral", "gemma", "llama3",
// "llama4", "harmony", also "gpt-oss"); nullopt otherwise.
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
std::string chat_format_names();  // "chatml, qwen3, ..." for --help and errors

struct DetectedFormat {
    ChatFormat format;
    bool recognised;  // false: fell back to ChatML; the caller warns
};
// From the GGUF's tokenizer.chat_template (may be empty) and general.architecture.
DetectedFormat detect_chat_format(std::string_view template_text, std::string_view architecture);

// Whether the format has Qwen3's enable_thinking switch (/think, /no_think, --no-think).
bool has_thinking_switch(ChatFormat format);

// Whether the prompt of these options ends inside the reasoning (Qwen3.5 with thinking on):
// the answer then starts with reasoning and its first marker is the closing </think>.
bool prompt_opens_reasoning(ChatFormat format, const ChatOptions& options);

// Whether the format defines tool calling ferry renders and parses: Qwen3's <tool_call>,
// gpt-oss's harmony functions (text/harmony_tools.h), and Qwen35 where options say its
// template is Qwen3's for tools (Qwen3-2507 Thinking, Qwen3-Next Thinking).
bool supports_tools(ChatFormat format, const ChatOptions& options = {});
// Whether a GGUF's tokenizer.chat_template writes Qwen3's tool instructions and
// {"name": ..., "arguments": ...} calls inside <tool_call>.
bool template_has_qwen3_tools(std::string_view template_text);

// Texts that end an assistant turn in this format (generation stops at them).
std::vector<std::string> end_of_turn_texts(ChatFormat format);

}  // namespace ferry::text
