// ferry tokenize: shows how a model's tokenizer splits a prompt.
#include "app/command_registry.h"
#include "base/error.h"
#include "gguf/reader.h"
#include "text/escape.h"
#include "text/gguf_vocab.h"
#include "text/hf_json.h"
#include "text/pretokenizer.h"
#include "text/tokenizer.h"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace ferry::app {
namespace {

struct TokenizeOptions {
    std::string model;
    std::string prompt;
    std::string prompt_file;
    bool ids_only = false;
    bool no_bos = false;
    // As llama-tokenize and Hugging Face tokenizers: control-token text is a token by default.
    bool parse_special = true;
};

text::Vocabulary load_vocabulary(const std::string& path) {
    if (!std::filesystem::exists(path)) fail("{}: no such file", path);
    // A Hugging Face tokenizer.json works too: handy to compare with the GGUF of a model.
    if (std::filesystem::path(path).extension() == ".json") return text::load_hf_tokenizer(path);
    return text::vocabulary_from_gguf(gguf::File::open(path));
}

std::string read_prompt_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open the prompt file", path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void run(const TokenizeOptions& o) {
    const text::Tokenizer tok(load_vocabulary(o.model));
    const text::Vocabulary& v = tok.vocab();
    bool known_pre = true;
    if (v.model == text::ModelKind::bpe) text::find_pre_tokenizer(v.pre, &known_pre);
    if (!known_pre) {
        fmt::print(stderr, "tokenize: warning: pre-tokenizer '{}' is unknown to ferry; using 'default', ids may differ\n",
                   v.pre);
    }
    const std::string prompt = o.prompt_file.empty() ? o.prompt : read_prompt_file(o.prompt_file);
    const auto ids = tok.encode(prompt, {.add_special = !o.no_bos, .parse_special = o.parse_special});

    if (o.ids_only) {
        fmt::print("[");
        for (std::size_t i = 0; i < ids.size(); ++i) fmt::print("{}{}", i ? ", " : "", ids[i]);
        fmt::print("]\n");
        return;
    }
    fmt::print(stderr, "tokenize: {} tokens; {} vocabulary ({}{}), {} entries\n", ids.size(),
               text::model_kind_gguf_name(v.model), v.model == text::ModelKind::bpe ? "pre " : "",
               v.model == text::ModelKind::bpe ? (v.pre.empty() ? "default" : v.pre) : "no pre-tokenizer", v.size());
    for (const text::TokenId id : ids) {
        const bool special = tok.is_special(id);
        fmt::print("{:>7} -> '{}'{}\n", id, text::escape_for_display(tok.piece(id)),
                   special ? "  (control)" : "");
    }
}

void add_tokenize_command(CLI::App& parent) {
    auto o = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = parent.add_subcommand("tokenize", "Show the tokens a model's tokenizer makes of a prompt");
    cmd->add_option("-m,--model", o->model, "GGUF model or vocabulary (or a Hugging Face tokenizer.json)")
        ->required();
    auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "Text to tokenize");
    auto* file = cmd->add_option("-f,--file", o->prompt_file, "Read the text to tokenize from a file");
    prompt->excludes(file);
    cmd->add_flag("--ids", o->ids_only, "Print only a JSON array of token ids");
    cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS/EOS tokens the vocabulary asks for");
    cmd->add_flag("--parse-special,!--no-parse-special", o->parse_special,
                  "Turn control-token text such as <|im_start|> into those tokens (default; "
                  "--no-parse-special tokenizes it as plain text)");
    cmd->callback([o, prompt, file] {
        if (prompt->count() == 0 && file->count() == 0) fail("tokenize: give the text with -p \"...\" or -f FILE");
        run(*o);
    });
}

const CommandRegistration registration{"tokenize", 60, add_tokenize_command};

}  // namespace
}  // namespace ferry::app
