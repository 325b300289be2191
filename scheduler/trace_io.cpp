// Reading and writing routing traces (layouts described in trace.h).
#include "scheduler/error.h"
#include "scheduler/trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <istream>
#include <ostream>
#include <unordered_set>

namespace ferry::scheduler {
namespace {

using nlohmann::json;

struct LineContext {
    const std::string& name;
    std::uint64_t line;
    template <class... Args>
    [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
        throw Error(fmt::format("{}:{}: {}", name, line, fmt::format(format, std::forward<Args>(args)...)));
    }
};

std::uint32_t get_count(const json& header, const char* key, const LineContext& at) {
    auto it = header.find(key);
    if (it == header.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() == 0 ||
        it->get<std::uint64_t>() > (1u << 20))
        at.fail("header needs \"{}\" as a positive integer", key);
    return it->get<std::uint32_t>();
}

std::vector<std::uint32_t> get_id_list(const json& value, const char* key, const LineContext& at) {
    if (!value.is_array()) at.fail("header \"{}\" must be a list of integers", key);
    std::vector<std::uint32_t> ids;
    for (const json& v : value) {
        if (!v.is_number_unsigned() || v.get<std::uint64_t>() > (1u << 20))
            at.fail("header \"{}\" must be a list of non-negative integers", key);
        ids.push_back(v.get<std::uint32_t>());
    }
    return ids;
}

TraceInfo parse_common_header(const json& h, const LineContext& at) {
    TraceInfo info;
    if (auto it = h.find("model"); it != h.end() && it->is_string()) info.model = *it;
    info.n_experts = get_count(h, "n_experts", at);
    info.top_k = get_count(h, "top_k", at);
    if (info.top_k > info.n_experts) at.fail("top_k {} exceeds n_experts {}", info.top_k, info.n_experts);
    if (!h.contains("layers")) at.fail("header has no \"layers\" list");
    info.layers = get_id_list(h["layers"], "layers", at);
    if (info.layers.empty()) at.fail("header \"layers\" is empty");
    std::unordered_set<std::uint32_t> seen(info.layers.begin(), info.layers.end());
    if (seen.size() != info.layers.size()) at.fail("header \"layers\" repeats a layer id");
    if (auto it = h.find("batched"); it != h.end() && it->is_boolean()) info.batched = *it;
    return info;
}

// Aligned layers of a shared-format file: all of them when "aligned" is true, otherwise
// the "complete_layers" of its (single) sequence, given as model layer ids.
std::vector<std::uint32_t> shared_cross_layer(const json& h, const TraceInfo& info, const LineContext& at) {
    std::vector<std::uint32_t> out;
    auto aligned = h.find("aligned");
    if (aligned == h.end() || (aligned->is_boolean() && aligned->get<bool>())) {
        for (std::uint32_t j = 0; j < info.layers.size(); ++j) out.push_back(j);
        return out;
    }
    std::unordered_set<std::uint32_t> complete;
    if (auto seqs = h.find("sequences"); seqs != h.end() && seqs->is_array()) {
        for (const json& s : *seqs)
            if (s.is_object() && s.contains("complete_layers"))
                for (std::uint32_t id : get_id_list(s["complete_layers"], "complete_layers", at))
                    complete.insert(id);
    }
    for (std::uint32_t j = 0; j < info.layers.size(); ++j)
        if (complete.count(info.layers[j])) out.push_back(j);
    return out;
}

std::vector<Choice> parse_choices(const json& experts, const json* weights, const TraceInfo& info,
                                  const LineContext& at, std::uint32_t layer_index) {
    if (!experts.is_array() || experts.empty() || experts.size() > info.n_experts)
        at.fail("layer {}: expert list must hold 1..{} ids", info.layers[layer_index], info.n_experts);
    if (weights && (!weights->is_array() || weights->size() != experts.size()))
        at.fail("layer {}: weights must be a list as long as the expert list", info.layers[layer_index]);
    std::vector<Choice> out;
    out.reserve(experts.size());
    for (std::size_t i = 0; i < experts.size(); ++i) {
        const json& e = experts[i];
        if (!e.is_number_unsigned() || e.get<std::uint64_t>() >= info.n_experts)
            at.fail("layer {}: expert id {} is not in 0..{}", info.layers[layer_index], e.dump(),
                    info.n_experts - 1);
        Choice c{e.get<std::uint32_t>(), 1.0f / static_cast<float>(experts.size())};
        if (weights) {
            const json& w = (*weights)[i];
            if (!w.is_number() || !std::isfinite(w.get<double>()))
                at.fail("layer {}: weight {} is not a number", info.layers[layer_index], w.dump());
            c.weight = w.get<float>();
        }
        for (const Choice& prev : out)
            if (prev.expert == c.expert)
                at.fail("layer {}: expert {} is listed twice", info.layers[layer_index], c.expert);
        out.push_back(c);
    }
    return out;
}

void read_shared_records(std::istream& in, const std::string& name, std::uint64_t& line_no, Trace& trace) {
    const TraceInfo& info = trace.info();
    std::string line;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        LineContext at{name, line_no};
        json rec = json::parse(line, nullptr, false);
        if (rec.is_discarded() || !rec.is_object()) at.fail("not a JSON object");
        auto experts = rec.find("experts");
        if (experts == rec.end() || !experts->is_array() || experts->size() != info.layers.size())
            at.fail("\"experts\" must be a list with one entry per header layer ({})", info.layers.size());
        auto weights = rec.find("weights");
        const bool has_weights = weights != rec.end() && !weights->is_null();
        if (has_weights && (!weights->is_array() || weights->size() != info.layers.size()))
            at.fail("\"weights\" must be a list with one entry per header layer ({})", info.layers.size());
        std::vector<std::optional<std::vector<Choice>>> per_layer(info.layers.size());
        for (std::uint32_t j = 0; j < info.layers.size(); ++j) {
            const json& e = (*experts)[j];
            if (e.is_null()) continue;  // entry not recorded (see the file's header)
            const json* w = has_weights && !(*weights)[j].is_null() ? &(*weights)[j] : nullptr;
            per_layer[j] = parse_choices(e, w, info, at, j);
        }
        trace.add_token(per_layer);
    }
}

void read_compact_records(std::istream& in, const std::string& name, std::uint64_t& line_no, Trace& trace) {
    const TraceInfo& info = trace.info();
    std::string line;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        LineContext at{name, line_no};
        json rec = json::parse(line, nullptr, false);
        if (rec.is_discarded() || !rec.is_array() || rec.size() < 4 || rec.size() > 5 ||
            (rec.size() == 5 && !rec[4].is_array()))
            at.fail(
                "expected [token, layer_index, [experts], [weights]] or with [predicted experts] after them");
        if (!rec[0].is_number_unsigned() || rec[0].get<std::uint64_t>() > (1ull << 40))
            at.fail("token {} is not a non-negative integer", rec[0].dump());
        if (!rec[1].is_number_unsigned() || rec[1].get<std::uint64_t>() >= info.layers.size())
            at.fail("layer index {} is not in 0..{}", rec[1].dump(), info.layers.size() - 1);
        const auto token = rec[0].get<std::uint64_t>();
        const auto layer = rec[1].get<std::uint32_t>();
        if (trace.has(token, layer)) at.fail("token {} layer index {} appears twice", token, layer);
        auto chosen = parse_choices(rec[2], &rec[3], info, at, layer);
        trace.set(token, layer, chosen);
    }
}

}  // namespace

Trace read_trace(std::istream& in, const std::string& name) {
    std::string line;
    std::uint64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") != std::string::npos) break;
    }
    if (line_no == 0 || line.find_first_not_of(" \t\r") == std::string::npos)
        throw Error(fmt::format("{}: empty trace file", name));
    LineContext at{name, line_no};
    json h = json::parse(line, nullptr, false);
    if (h.is_discarded() || !h.is_object()) at.fail("first line must be the JSON header object");
    auto fmt_it = h.find("format");
    const std::string format = fmt_it != h.end() && fmt_it->is_string() ? fmt_it->get<std::string>() : "";
    TraceInfo info = parse_common_header(h, at);
    const bool compact = format == kCompactFormat;
    if (!compact && format != kSharedFormat)
        at.fail("unknown trace format \"{}\" (expected {} or {})", format, kCompactFormat, kSharedFormat);
    if (compact) {
        info.cross_layer = h.contains("cross_layer") ? get_id_list(h["cross_layer"], "cross_layer", at)
                                                     : std::vector<std::uint32_t>{};
        for (std::uint32_t j : info.cross_layer)
            if (j >= info.layers.size()) at.fail("cross_layer index {} is not a layer index", j);
    } else {
        info.cross_layer = shared_cross_layer(h, info, at);
    }
    Trace trace(std::move(info));
    if (compact)
        read_compact_records(in, name, line_no, trace);
    else
        read_shared_records(in, name, line_no, trace);
    if (trace.n_entries() == 0) throw Error(fmt::format("{}: trace has no routing records", name));
    return trace;
}

Trace read_trace(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(fmt::format("{}: cannot open trace file", path));
    return read_trace(in, path);
}

TraceWriter::TraceWriter(std::ostream& out, const TraceInfo& info) : out_(out) {
    json h = {{"format", kCompactFormat}, {"model", info.model},   {"n_experts", info.n_experts},
              {"top_k", info.top_k},      {"layers", info.layers}, {"cross_layer", info.cross_layer},
              {"batched", info.batched}};
    out_ << h.dump() << '\n';
}

void TraceWriter::write(const RouteEvent& event, std::span<const std::uint32_t> predicted) {
    // fmt prints a float in its shortest form that reads back to the same float.
    std::string line = fmt::format("[{},{},[", event.token, event.layer);
    for (std::size_t i = 0; i < event.chosen.size(); ++i)
        line += fmt::format("{}{}", i ? "," : "", event.chosen[i].expert);
    line += "],[";
    for (std::size_t i = 0; i < event.chosen.size(); ++i)
        line += fmt::format("{}{}", i ? "," : "", event.chosen[i].weight);
    line += "]";
    if (!predicted.empty()) {
        line += ",[";
        for (std::size_t i = 0; i < predicted.size(); ++i)
            line += fmt::format("{}{}", i ? "," : "", predicted[i]);
        line += "]";
    }
    line += "]\n";
    out_ << line;
}

void write_trace(std::ostream& out, const Trace& trace) {
    TraceWriter writer(out, trace.info());
    for (std::uint64_t t = 0; t < trace.n_tokens(); ++t)
        for (std::uint32_t j = 0; j < trace.n_layers(); ++j)
            if (trace.has(t, j)) writer.write(RouteEvent{t, j, trace.at(t, j)});
}

}  // namespace ferry::scheduler
