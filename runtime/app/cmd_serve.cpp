// ferry serve: an OpenAI-compatible HTTP server over one model (serve/). This file holds
// the options and the wiring: open the model, pick the chat format, start the engine and
// the listener, and return 0 after SIGINT/SIGTERM drained it.
#include "app/command_registry.h"
#include "app/model_session.h"
#include "app/sampler_options.h"
#include "base/error.h"
#include "serve/engine.h"
#include "serve/server.h"
#include "text/chat_template.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

namespace ferry::app {
namespace {

struct ServeCliOptions {
    ModelOptions model;
    sample::SamplerConfig sampler;
    serve::ServerOptions server;
    std::uint32_t parallel = 1;
    std::size_t queue = 16;
    int n_predict = 512;
    std::string api_key;
    std::string alias;
    std::string chat_template;
    bool no_thinking = false;
    bool no_cont_batching = false;
    std::string reasoning_format = "deepseek";
    double drain_seconds = 15;
};

text::ChatFormat choose_format(const gguf::File& file, const std::string& forced) {
    if (!forced.empty()) {
        std::string lower = forced;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        const auto format = text::chat_format_from_name(lower);
        if (!format) fail("unknown chat template '{}'; choose one of: {}", forced, text::chat_format_names());
        return *format;
    }
    const std::string tmpl = file.optional_string("tokenizer.chat_template").value_or("");
    const std::string arch = file.optional_string("general.architecture").value_or("");
    const text::DetectedFormat d = text::detect_chat_format(tmpl, arch);
    if (!d.recognised)
        fmt::print(stderr,
                   "ferry serve: warning: {} has no chat template ferry recognises (architecture '{}'); "
                   "using chatml. Pick one with --chat-template ({})\n",
                   file.name(), arch, text::chat_format_names());
    return d.format;
}

void run_serve(ServeCliOptions o) {
    ModelSession session(o.model);
    const text::Tokenizer& tok = session.tokenizer();
    const text::Vocabulary& v = tok.vocab();

    serve::RouterConfig rc;
    rc.format = choose_format(session.file(), o.chat_template);
    if (v.bos && v.add_bos) rc.chat_options.bos_text = tok.piece(*v.bos, true);
    if (v.eos) rc.chat_options.eos_text = tok.piece(*v.eos, true);
    rc.chat_options.enable_thinking = !o.no_thinking;
    rc.chat_options.qwen3_tool_calls = text::template_has_qwen3_tools(
        session.file().optional_string("tokenizer.chat_template").value_or(""));
    rc.split_reasoning = o.reasoning_format == "deepseek";
    rc.limits.model_id =
        o.alias.empty() ? std::filesystem::path(o.model.model_path).stem().string() : o.alias;
    rc.limits.n_ctx = session.model().n_ctx();
    rc.limits.default_max_tokens = o.n_predict;
    rc.limits.random_seed = o.sampler.seed == kRandomSeed;
    rc.limits.defaults = o.sampler;
    rc.api_key = o.api_key;
    rc.started = std::int64_t(std::time(nullptr));

    serve::Engine engine(session.model(), tok,
                         {.parallel = o.parallel,
                          .max_queue = o.queue,
                          .batch = o.model.batch,
                          .batch_decode = !o.no_cont_batching});
    o.server.drain_grace = std::chrono::milliseconds(std::int64_t(o.drain_seconds * 1000));
    serve::serve_http(engine, rc, o.server, [&](std::uint16_t port) {
        // One line a script can wait for (the e2e test does).
        fmt::print(stderr,
                   "ferry serve: listening on http://{}:{} (model '{}', template {}, {} sequence{} of {} "
                   "tokens, queue {}){}\n",
                   o.server.host, port, rc.limits.model_id, text::chat_format_name(rc.format), o.parallel,
                   o.parallel == 1 ? "" : "s", rc.limits.n_ctx, o.queue,
                   o.api_key.empty() ? "" : ", API key required");
        std::fflush(stderr);
    });
    fmt::print(stderr, "ferry serve: drained, exiting\n");
}

void add_serve_command(CLI::App& parent) {
    auto o = std::make_shared<ServeCliOptions>();
    CLI::App* cmd = parent.add_subcommand(
        "serve",
        "Serve a model over HTTP with OpenAI's API: POST /v1/chat/completions and /v1/completions (streaming "
        "as\n"
        "server-sent events), GET /v1/models, /health, /metrics (Prometheus), and a chat page at /.\n"
        "Point the OpenAI client (or Open WebUI) at http://HOST:PORT/v1. Each of --parallel sequences keeps "
        "its\n"
        "KV cache, so a re-sent conversation prefills only its new turn. SIGINT/SIGTERM let running answers\n"
        "finish (--drain-timeout), then exit 0.");
    add_model_options(cmd, o->model);
    add_sampler_options(cmd, o->sampler);
    cmd->add_option("--host", o->server.host, "Address to listen on (0.0.0.0: every interface)")
        ->capture_default_str();
    cmd->add_option("--port", o->server.port, "TCP port (0: any free port, printed at start)")
        ->capture_default_str();
    cmd->add_option("--api-key", o->api_key,
                    "Require 'Authorization: Bearer KEY' on /v1/* and /metrics (default: no key)");
    cmd->add_option("--parallel", o->parallel,
                    "Requests served at once, each on its own sequence with its own KV cache of --ctx tokens")
        ->capture_default_str()
        ->check(CLI::Range(1u, 64u));
    cmd->add_option("--queue", o->queue,
                    "Requests that may wait for a sequence; beyond, 503 with Retry-After")
        ->capture_default_str();
    cmd->add_option("-n,--n-predict", o->n_predict,
                    "Most tokens per answer when a request gives no max_tokens")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-body", o->server.max_body, "Largest request body in bytes; beyond, 413")
        ->capture_default_str();
    cmd->add_option("--max-connections", o->server.max_connections,
                    "Open connections at most; beyond, 503 at once")
        ->capture_default_str();
    cmd->add_option("--alias", o->alias, "Model name in /v1/models and requests (default: the file's name)");
    cmd->add_option("--chat-template", o->chat_template,
                    "Chat format, overriding the one detected from the GGUF: " + text::chat_format_names());
    cmd->add_flag("--no-think", o->no_thinking, "Qwen3: thinking off (an empty <think></think> block)");
    cmd->add_flag("--no-cont-batching", o->no_cont_batching,
                  "Decode the --parallel sequences one at a time instead of one token of each in one forward "
                  "pass (continuous batching, the default)");
    cmd->add_option("--reasoning-format", o->reasoning_format,
                    "deepseek: chat answers' reasoning (Qwen3's <think>, gpt-oss's analysis channel) in "
                    "reasoning_content, as llama-server; none: left in content as the model wrote it")
        ->check(CLI::IsMember({"deepseek", "none"}))
        ->capture_default_str();
    cmd->add_option("--drain-timeout", o->drain_seconds,
                    "Seconds running answers may take to finish after SIGINT/SIGTERM (a second signal: none)")
        ->capture_default_str();
    cmd->callback([o] { run_serve(*o); });
}

const CommandRegistration registration{"serve", 8, add_serve_command};

}  // namespace
}  // namespace ferry::app
