#pragma once
// gpt-oss's tool calling as its chat_template.jinja writes it (the official template, as in
// llama.cpp's models/templates/openai-gpt-oss-120b.jinja, rendered with Hugging Face's
// trim_blocks and lstrip_blocks): the developer message's `functions` namespace, each
// function a TypeScript type of its JSON-schema parameters; an assistant's call as
//   <|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>ARGS<|call|>
// and the function's result as
//   <|start|>functions.NAME to=assistant<|channel|>commentary<|message|>"RESULT"<|end|>
#include <span>
#include <string>
#include <string_view>

namespace ferry::text {

// "# Tools\n\n## functions\n\nnamespace functions {\n\n...} // namespace functions" for
// tools given as JSON texts of {"type": "function", "function": {name, description,
// parameters}}. Throws ferry::Error for a tool that is not such an object.
std::string harmony_functions(std::span<const std::string> tools);

// A call's ARGS: the template's `arguments|tojson`, of the parsed object where the text is
// a JSON object (as OpenAI clients send it, a string holding JSON), else of the text.
std::string harmony_arguments(std::string_view arguments);

// `text|tojson`: a JSON string literal (a tool result's content).
std::string json_string(std::string_view text);

}  // namespace ferry::text
