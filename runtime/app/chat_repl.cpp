#include "app/chat_repl.h"

#include "app/chat_commands.h"
#include "app/chat_input.h"
#include "app/chat_session.h"
#include "app/chat_signal.h"
#include "app/model_session.h"
#include "app/sampler_options.h"
#include "base/error.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace ferry::app {
namespace {

std::optional<text::ChatFormat> forced_format(const std::string& name) {
    if (name.empty()) return std::nullopt;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const auto format = text::chat_format_from_name(lower);
    if (!format) fail("unknown chat template '{}'; choose one of: {}", name, text::chat_format_names());
    return format;
}

text::ChatFormat choose_format(const gguf::File& file, const std::optional<text::ChatFormat>& forced) {
    if (forced) return *forced;
    const std::string tmpl = file.optional_string("tokenizer.chat_template").value_or("");
    const std::string arch = file.optional_string("general.architecture").value_or("");
    const text::DetectedFormat d = text::detect_chat_format(tmpl, arch);
    if (!d.recognised)
        fmt::print(stderr,
                   "ferry: warning: {} has {} (architecture '{}'); falling back to chatml. "
                   "Pick the right one with --chat-template ({})\n",
                   file.name(),
                   tmpl.empty() ? "no chat template" : "a chat template ferry does not recognise", arch,
                   text::chat_format_names());
    return d.format;
}

bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

}  // namespace

int run_chat(ChatCliOptions& o) {
    if (o.n_predict < 1) fail("-n/--n-predict must be at least 1");
    const std::optional<text::ChatFormat> forced = forced_format(o.chat_template);
    o.sampler.seed = resolve_seed(o.sampler.seed);
    const bool interactive = ::isatty(STDIN_FILENO);
    const char* term = std::getenv("TERM");
    const bool color = interactive && ::isatty(STDOUT_FILENO) && !o.no_color && !std::getenv("NO_COLOR") &&
                       !(term && std::strcmp(term, "dumb") == 0);

    ModelSession session(o.model);
    if (std::size_t(o.n_predict) >= session.model().n_ctx())
        fail("-n {} leaves no room for a prompt in a context of {} tokens; lower -n or raise --ctx",
             o.n_predict, session.model().n_ctx());
    const text::ChatFormat format = choose_format(session.file(), forced);

    InterruptGuard guard;  // from here on, Ctrl-C stops an answer instead of the process
    const auto reader = make_line_reader(interactive);
    ChatSession chat(session, o, format, *reader, interactive, color);
    if (interactive)
        fmt::print(
            stderr,
            "ferry chat: {} template{}, -n {}, seed {}. /help lists commands; Ctrl-C stops an answer, "
            "Ctrl-D exits.\n",
            text::chat_format_name(format),
            text::has_thinking_switch(format) ? (o.no_thinking ? " (thinking off)" : " (thinking on)") : "",
            o.n_predict, o.sampler.seed);

    for (;;) {
        InputLine in = reader->read(interactive ? "> " : "");
        if (in.status != InputStatus::line) break;  // Ctrl-D / end of input, or Ctrl-C at the prompt
        std::string text = std::move(in.text);
        while (!text.empty() && text.back() == '\\') {  // a trailing backslash continues the line
            text.back() = '\n';
            InputLine more = reader->read(interactive ? "... " : "");
            if (more.status != InputStatus::line) break;
            text += more.text;
        }
        if (is_blank(text)) continue;
        reader->remember(text);
        const CommandOutcome outcome = run_chat_command(chat, text);
        if (outcome == CommandOutcome::exit) break;
        if (outcome == CommandOutcome::done) continue;
        chat.answer(std::move(text));
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace ferry::app
