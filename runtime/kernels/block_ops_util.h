#pragma once
// Helpers shared by the block_ops_*.cpp files (not part of the kernels API).
#include "base/error.h"
#include "vk/command.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace ferry::kernels::detail {

// Workgroups spread over x (at most 65535, the limit every device has) and y, for shaders
// that read their index with flat_group_id() (shaders/common_ops.glsl) and skip the tail.
// Grid-stride shaders (glu, rows, moe_combine, gather) need no more groups than this to fill a GPU.
inline constexpr std::uint64_t kMaxStrideGroups = 4096;

inline vk::GroupCount spread_groups(std::uint64_t groups) {
    constexpr std::uint64_t kMaxX = 65535;
    groups = std::max<std::uint64_t>(groups, 1);
    const std::uint64_t y = (groups + kMaxX - 1) / kMaxX;
    if (y > kMaxX) fail("{} workgroups do not fit one dispatch", groups);
    return {static_cast<std::uint32_t>(std::min(groups, kMaxX)), static_cast<std::uint32_t>(y), 1};
}

// Throws unless the binding has at least `bytes` bytes.
inline void require_bytes(const vk::BufferBinding& b, std::uint64_t bytes, std::string_view op, std::string_view what) {
    const std::uint64_t size = b.buffer->size();
    const std::uint64_t have = b.range == VK_WHOLE_SIZE ? (b.offset <= size ? size - b.offset : 0) : b.range;
    if (have < bytes)
        fail("{}: {} ('{}') has {} bytes from offset {}, the call needs {}", op, what, b.buffer->name(), have,
             b.offset, bytes);
}

inline bool is_power_of_two(std::uint32_t v) { return v && !(v & (v - 1)); }

}  // namespace ferry::kernels::detail
