// BlockOps::embed: one shader variant per table type (shaders/embed.comp).
#include "base/error.h"
#include "kernels/block_ops.h"
#include "kernels/block_ops_push.h"
#include "kernels/block_ops_util.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <string>

namespace ferry::kernels {

using detail::require_bytes;

namespace {

bool embed_supported(gguf::TensorType t) {
    using T = gguf::TensorType;
    switch (t) {
        case T::F32:
        case T::F16:
        case T::BF16:
        case T::Q4_0:
        case T::Q4_1:
        case T::Q5_0:
        case T::Q5_1:
        case T::Q8_0:
        case T::Q2_K:
        case T::Q3_K:
        case T::Q4_K:
        case T::Q5_K:
        case T::Q6_K:
        case T::IQ4_NL:
        case T::IQ4_XS:
        case T::MXFP4:
            return true;
        default:
            return false;
    }
}

}  // namespace

void BlockOps::embed(vk::CommandBuffer& cmd, const EmbedArgs& a) {
    const gguf::TypeTraits& t = gguf::type_traits(a.type);
    if (!embed_supported(a.type)) fail("embed: tables of type {} are not supported on the GPU", t.name);
    if (a.n_cols == 0 || a.n_cols % t.block_elements)
        fail("embed: {} columns is not a multiple of {}'s block size {}", a.n_cols, t.name, t.block_elements);
    if (a.tokens == 0 || a.tokens > 65535) fail("embed: {} tokens (1..65535 per call)", a.tokens);
    const std::uint64_t row_bytes = gguf::row_bytes(t, a.n_cols);
    if (std::uint64_t(a.n_rows) * row_bytes > 0xFFFFFFFFull)
        fail("embed: a {} x {} {} table is over 4 GiB, more than the shader addresses", a.n_rows, a.n_cols,
             t.name);
    // The shader reads whole 32-bit words: the binding covers the table rounded up to 4.
    require_bytes(a.table, (std::uint64_t(a.n_rows) * row_bytes + 3) / 4 * 4, "embed", "table");
    require_bytes(a.ids, std::uint64_t(a.tokens) * 4, "embed", "ids");
    require_bytes(a.out, std::uint64_t(a.tokens) * a.n_cols * 4, "embed", "out");
    std::string shader = "embed_";
    for (char c : t.name) shader += char(std::tolower(static_cast<unsigned char>(c)));
    const vk::Pipeline& p = pipelines_.get({.shader = shader,
                                            .spec_constants = {wg_},
                                            .push_constant_bytes = sizeof(push::Embed),
                                            .storage_buffers = 3});

    // A table larger than one storage binding (the spec allows devices as small as 128 MiB;
    // a 151k-token vocabulary at Q4_K is 175 MB) is read in row ranges, one dispatch each.
    // Each range starts at an offset the device can bind (a multiple of its alignment).
    const vk::DeviceLimits& limits = device().limits();
    std::uint64_t max_binding = std::min<std::uint64_t>(limits.max_storage_buffer_range, 0xFFFFFFFFull);
    if (max_binding_bytes_) max_binding = std::min(max_binding, max_binding_bytes_);
    const std::uint64_t align = std::max<std::uint64_t>(limits.min_storage_buffer_offset_alignment, 4);
    const std::uint64_t row_step = align / std::gcd(align, row_bytes);  // rows per aligned offset step
    std::uint64_t chunk_rows = (max_binding - 3) / row_bytes / row_step * row_step;
    if (chunk_rows == 0)
        fail("embed: one {}-byte row of the table is more than the device binds ({} bytes)",
             row_bytes * row_step, max_binding);
    if (a.table.offset % align)
        fail("embed: the table starts at byte {}, not a multiple of the device's {}-byte alignment",
             a.table.offset, align);
    for (std::uint64_t first = 0; first < a.n_rows; first += chunk_rows) {
        const std::uint64_t rows = std::min<std::uint64_t>(chunk_rows, a.n_rows - first);
        const std::uint64_t bytes = (rows * row_bytes + 3) / 4 * 4;
        const push::Embed pc{
            a.tokens, a.n_cols, std::uint32_t(row_bytes), std::uint32_t(rows), std::uint32_t(first),
            a.n_rows};
        const vk::BufferBinding table(*a.table.buffer, a.table.offset + first * row_bytes, bytes);
        cmd.dispatch({.pipeline = &p,
                      .buffers = {table, a.ids, a.out},
                      .push = vk::push_bytes(pc),
                      .groups = {vk::group_count(a.n_cols, wg_), a.tokens, 1}});
    }
}

}  // namespace ferry::kernels
