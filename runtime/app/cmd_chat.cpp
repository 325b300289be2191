// ferry chat: interactive, streaming, multi-turn chat with KV-cache reuse between turns.
// The pieces: chat_repl (the loop), chat_session (a turn), chat_kv (what the cache holds),
// chat_conversation (messages, template, /save and /load), chat_generate (one answer),
// chat_stream (stop texts, <think> display), chat_input (libedit or a pipe),
// chat_commands (slash commands), chat_signal (Ctrl-C).
#include "app/chat_options.h"
#include "app/chat_repl.h"
#include "app/command_registry.h"
#include "app/model_session.h"
#include "app/sampler_options.h"
#include "text/chat_template.h"

#include <memory>

namespace ferry::app {
namespace {

void add_chat_command(CLI::App& parent) {
    auto o = std::make_shared<ChatCliOptions>();
    CLI::App* cmd = parent.add_subcommand(
        "chat",
        "Chat with a model: streaming answers, multi-turn with KV-cache reuse, /help for commands.\n"
        "From a pipe, each input line is one user turn and the answers go to stdout.");
    add_model_options(cmd, o->model);
    add_sampler_options(cmd, o->sampler);
    cmd->add_option("-n,--n-predict", o->n_predict, "Most tokens per answer")->capture_default_str();
    cmd->add_option("--system", o->system_prompt, "System prompt");
    cmd->add_option("--chat-template", o->chat_template,
                    "Chat format, overriding the one detected from the GGUF: " + text::chat_format_names());
    cmd->add_flag("--hide-thinking", o->hide_thinking,
                  "Hide <think>...</think> reasoning (default: shown dimmed at a terminal, plain otherwise)");
    cmd->add_flag("--show-thinking", o->show_thinking,
                  "Show gpt-oss's analysis channel (hidden by default), dimmed at a terminal");
    cmd->add_flag("--no-think", o->no_thinking,
                  "Start with Qwen3 thinking off (/think and /no_think switch it)");
    cmd->add_flag("--drop-oldest", o->drop_oldest,
                  "When the context is full, drop the oldest turns (the system prompt stays) without asking");
    cmd->add_flag(
        "--stats-json", o->stats_json,
        "Print each answer's footer on stderr as one JSON object: prompt_tokens, reused, prefilled, "
        "prefill_seconds, generated, decoded, decode_seconds, stop, context_used, context");
    cmd->add_flag("--no-color", o->no_color, "No ANSI colors or dimming, even at a terminal");
    cmd->callback([o] { run_chat(*o); });
}

const CommandRegistration registration{"chat", 5, add_chat_command};

}  // namespace
}  // namespace ferry::app
