#include "reference_figures.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ferry::test {

namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return nlohmann::json::parse(in);
}

}  // namespace

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<ReferenceFigures> read_reference_figures(const std::filesystem::path& dir) {
    std::vector<ReferenceFigures> out;
    for (const char* name : {"expected.json", "expected-b.json"}) {
        const nlohmann::json j = read_json(dir / name);
        // A model without figures (gemma4-dev, see README-a.md) is not listed at all.
        for (const auto& [model, value] : j.at("ppl").items()) {
            ReferenceFigures f;
            f.model = model;
            f.file = dir / (model + ".gguf");
            f.ppl = value.get<double>();
            f.ppl_tolerance = j.at("ppl_tol").get<double>();
            f.ctx = j.at("ctx").get<std::uint32_t>();
            f.prompt = j.at("prompt").get<std::string>();
            f.greedy = j.at("greedy_ids").at(model).get<std::vector<std::int32_t>>();
            if (f.greedy.size() != j.at("n_predict").get<std::size_t>())
                throw std::runtime_error(std::string(name) + ": " + model + " has a short greedy list");
            out.push_back(std::move(f));
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.model < b.model; });
    return out;
}

}  // namespace ferry::test
