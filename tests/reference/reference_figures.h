#pragma once
// The independent reference figures of ../shared/data/reference (README-a.md, README-b.md):
// perplexity of ppl.txt with -c 128 -b 128 and the greedy continuation of a prompt, as the
// reference engine (ik_llama.cpp) computes them on small random-weight models.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ferry::test {

struct ReferenceFigures {
    std::string model;                 // "mixtral-dev": the file is <model>.gguf
    std::filesystem::path file;        // the GGUF
    double ppl = 0;                    // perplexity of the text
    double ppl_tolerance = 0;          // relative
    std::uint32_t ctx = 0;             // perplexity chunk length
    std::string prompt;                // greedy prompt
    std::vector<std::int32_t> greedy;  // expected ids, n_predict of them
};

// Every model of expected.json and expected-b.json in `dir`, sorted by name.
std::vector<ReferenceFigures> read_reference_figures(const std::filesystem::path& dir);

// The text perplexity is measured on.
std::string read_text(const std::filesystem::path& path);

}  // namespace ferry::test
