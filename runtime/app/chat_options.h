#pragma once
// Everything `ferry chat` is told on its command line (cmd_chat.cpp parses it).
#include "app/model_session.h"
#include "sample/sampler.h"

#include <string>

namespace ferry::app {

struct ChatCliOptions {
    ModelOptions model;
    sample::SamplerConfig sampler;
    std::string system_prompt;
    std::string chat_template;  // a format name; empty: detected from the GGUF
    int n_predict = 512;
    bool hide_thinking = false;
    bool show_thinking = false;  // gpt-oss: show the analysis channel (hidden by default)
    bool no_thinking = false;  // start with Qwen3's enable_thinking off (/think turns it on)
    bool drop_oldest = false;
    bool stats_json = false;  // the per-answer footer as one JSON object per line
    bool no_color = false;
};

}  // namespace ferry::app
