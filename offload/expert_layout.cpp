#include "offload/expert_layout.h"

#include "base/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>

namespace ferry::offload {

bool ExpertPart::contiguous() const {
    for (std::size_t e = 0; e < file_offsets.size(); ++e)
        if (file_offsets[e] != file_offsets[0] + e * expert_bytes) return false;
    return true;
}

std::uint64_t ExpertLayer::expert_bytes() const {
    std::uint64_t total = 0;
    for (const ExpertPart& p : parts) total += p.expert_bytes;
    return total;
}

namespace {

// Rows and columns part i of an expert must have.
std::pair<std::uint32_t, std::uint32_t> part_shape(ExpertFfnKind kind, std::size_t i, std::uint32_t n_embd,
                                                   std::uint32_t n_ff) {
    const bool down = i + 1 == (kind == ExpertFfnKind::GateUpDown ? 3u : 2u);
    if (down) return {n_embd, n_ff};
    return {kind == ExpertFfnKind::FusedGateUpDown ? 2 * n_ff : n_ff, n_embd};
}

void check_shape(const gguf::File& file, const gguf::TensorInfo& t, std::uint64_t cols, std::uint64_t rows,
                 std::uint64_t experts) {
    if (t.dim(0) != cols || t.dim(1) != rows || t.dim(2) != experts || t.dims.size() > 3)
        fail("{}: tensor {} has shape [{}], expected [{}, {}{}]", file.name(), t.name,
             fmt::join(t.dims, ", "), cols, rows, experts > 1 ? fmt::format(", {}", experts) : "");
}

}  // namespace

ExpertLayer read_expert_layer(const gguf::File& file, const ExpertTensorNames& names, ExpertFfnKind kind,
                              std::uint32_t n_experts, std::uint32_t n_embd, std::uint32_t n_ff) {
    const std::size_t n_parts = kind == ExpertFfnKind::GateUpDown ? 3 : 2;
    if (names.merged.size() != n_parts || (!names.split.empty() && names.split.size() != n_parts))
        fail("expert layout: {} part names given for a {}-part expert", names.merged.size(), n_parts);
    if (n_experts == 0) fail("{}: the model has no routed experts", file.name());
    ExpertLayer layer;
    layer.kind = kind;
    layer.n_ff = n_ff;
    const bool merged = file.find_tensor(names.merged[0]) != nullptr;
    const bool split = !merged && !names.split.empty() &&
                       file.find_tensor(fmt::format(fmt::runtime(names.split[0]), 0)) != nullptr;
    if (!merged && !split) fail("{}: tensor {} is missing", file.name(), names.merged[0]);
    for (std::size_t i = 0; i < n_parts; ++i) {
        const auto [rows, cols] = part_shape(kind, i, n_embd, n_ff);
        ExpertPart part;
        part.rows = rows;
        part.cols = cols;
        if (merged) {
            const gguf::TensorInfo* t = file.find_tensor(names.merged[i]);
            if (!t) fail("{}: tensor {} is missing", file.name(), names.merged[i]);
            check_shape(file, *t, cols, rows, n_experts);
            part.name = t->name;
            part.type = t->type;
            part.expert_bytes = t->bytes / n_experts;
            for (std::uint32_t e = 0; e < n_experts; ++e)
                part.file_offsets.push_back(t->offset + e * part.expert_bytes);
        } else {
            for (std::uint32_t e = 0; e < n_experts; ++e) {
                const std::string name = fmt::format(fmt::runtime(names.split[i]), e);
                const gguf::TensorInfo* t = file.find_tensor(name);
                if (!t) fail("{}: tensor {} is missing (expert {} of {})", file.name(), name, e, n_experts);
                check_shape(file, *t, cols, rows, 1);
                if (e == 0) {
                    part.name = t->name;
                    part.type = t->type;
                    part.expert_bytes = t->bytes;
                } else if (t->type != part.type) {
                    fail("{}: tensor {} has type {}, the layer's other experts {}", file.name(), name,
                         gguf::type_name(t->type), gguf::type_name(part.type));
                }
                part.file_offsets.push_back(t->offset);
            }
        }
        layer.parts.push_back(std::move(part));
    }
    return layer;
}

ExpertTensorNames standard_expert_names(std::uint32_t layer, ExpertFfnKind kind) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    ExpertTensorNames n;
    if (kind == ExpertFfnKind::FusedGateUpDown) {
        n.merged = {blk + "ffn_gate_up_exps.weight", blk + "ffn_down_exps.weight"};
        return n;
    }
    n.merged = {blk + "ffn_gate_exps.weight", blk + "ffn_up_exps.weight", blk + "ffn_down_exps.weight"};
    n.split = {blk + "ffn_gate.{}.weight", blk + "ffn_up.{}.weight", blk + "ffn_down.{}.weight"};
    return n;
}

}  // namespace ferry::offload
