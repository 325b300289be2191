#pragma once
// The push-constant structs of the transformer-block shaders, made from the member lists
// in shaders/block_ops.h that the shaders use too, so the layouts cannot drift apart.
#include <cstdint>

namespace ferry::kernels::push {

using uint = std::uint32_t;
#include "shaders/block_ops.h"

struct RmsNorm {
    FERRY_PUSH_RMS_NORM
};
struct Rope {
    FERRY_PUSH_ROPE
};
struct KvAppend {
    FERRY_PUSH_KV_APPEND
};
struct Attention {
    FERRY_PUSH_ATTENTION
};
struct AttentionCombine {
    FERRY_PUSH_ATTENTION_COMBINE
};
struct Glu {
    FERRY_PUSH_GLU
};
struct Embed {
    FERRY_PUSH_EMBED
};
struct Router {
    FERRY_PUSH_ROUTER
};
struct MoeCombine {
    FERRY_PUSH_MOE_COMBINE
};
struct TopK {
    FERRY_PUSH_TOPK
};
struct Rows {
    FERRY_PUSH_ROWS
};
struct SsmConv {
    FERRY_PUSH_SSM_CONV
};
struct DeltaNet {
    FERRY_PUSH_DELTA_NET
};
struct Gather {
    FERRY_PUSH_GATHER
};

static_assert(sizeof(RmsNorm) == 20);
static_assert(sizeof(Rope) == 48);
static_assert(sizeof(KvAppend) == 24);
static_assert(sizeof(Attention) == 60);
static_assert(sizeof(AttentionCombine) == 16);
static_assert(sizeof(Glu) == 8);
static_assert(sizeof(Embed) == 24);
static_assert(sizeof(Router) == 32);
static_assert(sizeof(MoeCombine) == 16);
static_assert(sizeof(TopK) == 20);
static_assert(sizeof(Rows) == 8);
static_assert(sizeof(SsmConv) == 20);
static_assert(sizeof(DeltaNet) == 36);
static_assert(sizeof(Gather) == 36);

}  // namespace ferry::kernels::push

namespace ferry::kernels {
inline constexpr std::uint32_t kAttentionMaxRows = FERRY_ATTN_MAX_ROWS;
inline constexpr std::uint32_t kRouterMaxExperts = FERRY_ROUTER_MAX_EXPERTS;
inline constexpr std::uint32_t kRouterMaxK = FERRY_ROUTER_MAX_K;
inline constexpr std::uint32_t kTopKMaxK = FERRY_TOPK_MAX_K;
inline constexpr std::uint32_t kSsmMaxKernel = FERRY_SSM_MAX_KERNEL;
inline constexpr std::uint32_t kDeltaMaxKDim = FERRY_DELTA_MAX_KDIM;
}  // namespace ferry::kernels
