#include "app/chat_session.h"
#include "app/offload_report.h"

#include "app/chat_signal.h"
#include "base/error.h"
#include "base/units.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace ferry::app {
namespace {

text::ChatOptions chat_options_for(const text::Tokenizer& tok, const ChatCliOptions& o) {
    text::ChatOptions c;
    const text::Vocabulary& v = tok.vocab();
    // Formats that write BOS/EOS as text get the vocabulary's; encoding with parse_special
    // turns them back into those tokens.
    if (v.bos && v.add_bos) c.bos_text = tok.piece(*v.bos, true);
    if (v.eos) c.eos_text = tok.piece(*v.eos, true);
    c.enable_thinking = !o.no_thinking;
    return c;
}

// The text every next turn starts with: the conversation rendered as the template will
// render it once one more user message follows (Qwen3, for one, drops the newest answer's
// empty <think> block then), up to that message's content.
std::string next_turn_prefix(const Conversation& conversation) {
    Conversation a = conversation, b = conversation;
    a.add("user", "a");
    b.add("user", "b");
    const std::string ra = a.render(true), rb = b.render(true);
    const auto diff = std::mismatch(ra.begin(), ra.end(), rb.begin(), rb.end());
    return ra.substr(0, std::size_t(diff.first - ra.begin()));
}

std::string rate(std::size_t tokens, double seconds) {
    return tokens && seconds > 0 ? fmt::format("{:.1f} t/s", double(tokens) / seconds) : std::string("- t/s");
}

}  // namespace

ChatSession::ChatSession(ModelSession& session, const ChatCliOptions& options, text::ChatFormat format,
                         LineReader& reader, bool interactive, bool color)
    : session_(session),
      options_(options),
      reader_(reader),
      interactive_(interactive),
      color_(color),
      conversation_(format, chat_options_for(session.tokenizer(), options), options.system_prompt),
      kv_(session.model(), session.tokenizer(), options.model.batch),
      sampler_(options.sampler) {
    generate_.n_predict = options.n_predict;
    generate_.end_texts = text::end_of_turn_texts(format);
    generate_.reasoning = reasoning_markup(format);
}

void ChatSession::note(const std::string& text) const {
    std::fflush(stdout);
    if (color_)
        fmt::print(stderr, "\x1b[2m{}\x1b[0m\n", text);
    else
        fmt::print(stderr, "{}\n", text);
}

bool ChatSession::make_room(std::string& rendered, std::vector<text::TokenId>& ids) {
    const std::size_t n_ctx = kv_.n_ctx();
    const std::size_t n_predict = std::size_t(options_.n_predict);
    if (ids.size() + n_predict <= n_ctx) return true;
    note(
        fmt::format("chat: the conversation is {} tokens; with -n {} the answer could pass the context of {} "
                    "tokens (--ctx)",
                    ids.size(), n_predict, n_ctx));
    const bool can_drop = conversation_.turns() > 1;
    bool allowed = options_.drop_oldest;
    if (!allowed && can_drop && interactive_) {
        const InputLine reply = reader_.read("drop the oldest turns to make room? [Y/n] ");
        allowed = reply.status == InputStatus::line &&
                  (reply.text.empty() || reply.text[0] == 'y' || reply.text[0] == 'Y');
        clear_interrupt();
    }
    if (can_drop && !allowed) {
        note(
            "chat: message not sent; /reset starts over, and --drop-oldest drops the oldest turns by itself");
        return false;
    }
    std::size_t dropped = 0;
    while (ids.size() + n_predict > n_ctx) {
        if (!conversation_.drop_oldest_turn()) {
            note(fmt::format(
                "chat: this message alone ({} tokens with the system prompt) and -n {} do not fit the "
                "context of {}; shorten it, lower -n or raise --ctx",
                ids.size(), n_predict, n_ctx));
            return false;
        }
        ++dropped;
        rendered = conversation_.render(true);
        ids = kv_.tokenize(rendered);
    }
    note(fmt::format("chat: dropped the {} oldest turn{}; {} tokens now", dropped, dropped == 1 ? "" : "s",
                     ids.size()));
    return true;
}

void ChatSession::answer(std::string user_text) {
    const text::Tokenizer& tok = session_.tokenizer();
    conversation_.add("user", std::move(user_text));
    std::string rendered = conversation_.render(true);
    std::vector<text::TokenId> ids = kv_.tokenize(rendered);
    if (!make_room(rendered, ids)) {
        conversation_.pop_back();
        return;
    }
    sampler_.reset_history();
    const std::size_t window = std::size_t(std::max(options_.sampler.penalty_last_n, 0));
    for (std::size_t i = ids.size() - std::min(ids.size(), window); i < ids.size(); ++i)
        sampler_.accept(ids[i]);

    clear_interrupt();
    PrefillResult prefill = kv_.prefill(ids, rendered, conversation_.render(false));
    if (prefill.interrupted) {
        clear_interrupt();
        conversation_.pop_back();
        note("[interrupted while reading the prompt; the message is dropped]");
        return;
    }
    // gpt-oss's analysis channel is hidden unless asked for (the format's guide: it is not
    // meant for users); Qwen3's reasoning is shown unless hidden.
    const bool hide = options_.hide_thinking || (generate_.reasoning.open != "<think>" && !options_.show_thinking);
    const ThinkingDisplay display = hide ? ThinkingDisplay::hide : color_ ? ThinkingDisplay::dim : ThinkingDisplay::plain;
    AnswerPrinter printer(stdout, display);
    generate_.reasoning_open = text::prompt_opens_reasoning(conversation_.format(), conversation_.options());
    Answer a = generate_answer(kv_, sampler_, tok, std::move(prefill.logits), generate_, printer);
    printer.finish();
    if (a.reason == StopReason::interrupted) {
        clear_interrupt();
        note("[stopped; the partial answer stays in the conversation]");
    } else if (a.reason == StopReason::context_full) {
        note("[the context is full; /reset or --drop-oldest make room]");
    }
    if (a.cached_as_content) kv_.answer_text(a.content);
    conversation_.add("assistant", std::move(a.content));

    TurnStats s;
    s.prompt_tokens = ids.size();
    s.reused = prefill.reused;
    s.prefilled = prefill.prefilled;
    s.prefill_seconds = prefill.seconds;
    s.generated = a.tokens;
    s.decoded = a.decoded;
    s.decode_seconds = a.seconds;
    s.reason = a.reason;
    s.context_used = kv_.size();
    last_ = s;
    print_footer(s);
}

void ChatSession::print_footer(const TurnStats& s) const {
    if (options_.stats_json) {
        const nlohmann::json j = {
            {"prompt_tokens", s.prompt_tokens},   {"reused", s.reused},
            {"prefilled", s.prefilled},           {"prefill_seconds", s.prefill_seconds},
            {"generated", s.generated},           {"decoded", s.decoded},
            {"decode_seconds", s.decode_seconds}, {"stop", std::string(stop_reason_name(s.reason))},
            {"context_used", s.context_used},     {"context", kv_.n_ctx()}};
        std::fflush(stdout);
        fmt::print(stderr, "{}\n", j.dump());
        return;
    }
    note(fmt::format("[prefill {} of {} tokens ({} cached) {} | answer {} tokens {} | context {}/{}{}]",
                     s.prefilled, s.prompt_tokens, s.reused, rate(s.prefilled, s.prefill_seconds),
                     s.generated, rate(s.decoded, s.decode_seconds), s.context_used, kv_.n_ctx(),
                     s.reason == StopReason::limit ? " | stopped at -n" : ""));
}

void ChatSession::reset() {
    conversation_.reset();
    kv_.clear();
    last_.reset();
    note("[conversation and KV cache cleared]");
}

void ChatSession::save(const std::string& path) const {
    conversation_.save(path);
    note(fmt::format("[saved {} messages to {}]", conversation_.messages().size(), path));
}

void ChatSession::load(const std::string& path) {
    Conversation loaded = conversation_;
    loaded.load(path);
    std::string rendered = next_turn_prefix(loaded);
    std::vector<text::TokenId> ids = kv_.tokenize(rendered);
    std::size_t dropped = 0;
    while (ids.size() + std::size_t(options_.n_predict) > kv_.n_ctx() && loaded.drop_oldest_turn()) {
        ++dropped;
        rendered = next_turn_prefix(loaded);
        ids = kv_.tokenize(rendered);
    }
    if (ids.size() + std::size_t(options_.n_predict) > kv_.n_ctx())
        fail("{}: the conversation ({} tokens) and -n {} do not fit the context of {}; raise --ctx", path,
             ids.size(), options_.n_predict, kv_.n_ctx());
    conversation_ = std::move(loaded);
    if (ids.empty()) {
        kv_.clear();
        note(fmt::format("[loaded {}: no messages]", path));
        return;
    }
    clear_interrupt();
    const PrefillResult r = kv_.prefill(ids, rendered);
    clear_interrupt();
    note(fmt::format("[loaded {} messages from {}{}; prefill {} of {} tokens ({} cached) {}{}]",
                     conversation_.messages().size(), path,
                     dropped ? fmt::format(", {} oldest turns dropped to fit", dropped) : std::string(),
                     r.prefilled, ids.size(), r.reused, rate(r.prefilled, r.seconds),
                     r.interrupted ? "; interrupted, the rest is read with the next message" : ""));
}

void ChatSession::set_thinking(bool on) {
    conversation_.options().enable_thinking = on;
    note(on ? "[thinking on for the next turns]" : "[thinking off for the next turns]");
}

void ChatSession::print_stats() const {
    vk::VramAccountant& vram = session_.device().accountant();
    std::string text;
    if (last_) {
        const TurnStats& s = *last_;
        text += fmt::format(
            "last answer: prompt {} tokens, {} cached, {} prefilled in {:.2f} s ({}); {} tokens generated in "
            "{:.2f} s "
            "({}), stopped by {}\n",
            s.prompt_tokens, s.reused, s.prefilled, s.prefill_seconds, rate(s.prefilled, s.prefill_seconds),
            s.generated, s.decode_seconds, rate(s.decoded, s.decode_seconds), stop_reason_name(s.reason));
    } else {
        text += "last answer: none yet\n";
    }
    text += fmt::format("context: {} of {} tokens; {} messages\n", kv_.size(), kv_.n_ctx(),
                        conversation_.messages().size());
    text += fmt::format("VRAM: {} used of the {} budget\n", format_bytes(vram.current()),
                        format_bytes(vram.budget()));
    if (session_.model().offloading()) {
        const offload::OffloadStats st = session_.model().offload_stats();
        text += "since start: " + offload_report(st, session_.model().tokens_processed());
    }
    text += fmt::format("template: {}{}; sampler: temp {} top-k {} top-p {} min-p {} seed {}",
                        text::chat_format_name(conversation_.format()),
                        text::has_thinking_switch(conversation_.format())
                            ? (conversation_.options().enable_thinking ? " (thinking on)" : " (thinking off)")
                            : "",
                        options_.sampler.temperature, options_.sampler.top_k, options_.sampler.top_p,
                        options_.sampler.min_p, options_.sampler.seed);
    std::fflush(stdout);
    fmt::print(stderr, "{}\n", text);
}

}  // namespace ferry::app
