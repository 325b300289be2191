/* Push constants and fixed limits of the transformer-block shaders (rms_norm, rope,
 * kv_append, attention, glu, embed, router, moe_combine, topk). Included by GLSL and by
 * C++ (runtime/kernels/push.h), so the two sides cannot disagree: each FERRY_PUSH_<OP> is
 * the member list of that shader's push-constant block, declared in GLSL as
 *     layout(push_constant) uniform Push { FERRY_PUSH_RMS_NORM } pc;
 * and in C++ as struct RmsNormPush { FERRY_PUSH_RMS_NORM }; with sizes static_asserted.
 * Members are 32-bit scalars only (uint, int, float), so std430 and C++ agree. Plain
 * #defines and C comments only. */
#ifndef FERRY_SHADERS_BLOCK_OPS_H
#define FERRY_SHADERS_BLOCK_OPS_H

/* Attention: query rows (query heads x query tokens) one workgroup holds at most, i.e. the
 * size of the per-thread score array. */
#define FERRY_ATTN_MAX_ROWS 16
/* Router: experts per token at most (shared arrays) and chosen experts at most. */
#define FERRY_ROUTER_MAX_EXPERTS 512
#define FERRY_ROUTER_MAX_K 32
/* Top-k over logits: k at most. */
#define FERRY_TOPK_MAX_K 256

/* y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, r < rows; rows of n floats at the
 * given strides (in floats). */
#define FERRY_PUSH_RMS_NORM \
    uint n;                 \
    uint rows;              \
    uint x_stride;          \
    uint y_stride;          \
    float eps;

/* In place on x: [tokens, token_stride] holding n_heads heads of head_dim floats per
 * token (head h at h * head_dim); positions: int32 [tokens]. */
#define FERRY_PUSH_ROPE \
    uint tokens;        \
    uint n_heads;       \
    uint head_dim;      \
    uint rot_dims;      \
    uint token_stride;  \
    float freq_base;    \
    float freq_scale;   \
    float ext_factor;   \
    float corr_low;     \
    float corr_high;    \
    float mscale;       \
    uint has_factors;

/* k, v: F32 [tokens, row] (row = n_kv_heads * head_dim, k and v at their own strides)
 * written to the F16 caches [n_ctx, row] at positions[t]. */
#define FERRY_PUSH_KV_APPEND \
    uint tokens;             \
    uint row;                \
    uint k_stride;           \
    uint v_stride;           \
    uint n_ctx;              \
    uint cache_rows;

/* Attention over the F16 KV cache (see shaders/attention.comp for the layouts). */
#define FERRY_PUSH_ATTENTION \
    uint tokens;             \
    uint n_heads;            \
    uint n_kv_heads;         \
    uint kv_len;             \
    uint split_len;          \
    uint n_splits;           \
    uint q_stride;           \
    uint sliding_window;     \
    float scale;             \
    float softcap;           \
    uint has_sinks;          \
    uint chunk;              \
    float temp_scale;        \
    float temp_floor;        \
    uint cache_rows;

#define FERRY_PUSH_ATTENTION_COMBINE \
    uint tokens;                     \
    uint n_heads;                    \
    uint head_dim;                   \
    uint n_splits;

/* out[i] = act(gate[i]) * up[i], i < n; the _bias variants first add the route's expert
   biases: row r = i / width of gate/up is route r, whose expert is ids[r]. */
#define FERRY_PUSH_GLU \
    uint n;            \
    uint width;

/* out[t] = dequantized row ids[t] of the table: [tokens, n_cols] F32. The binding holds
   rows [first_row, first_row + n_rows) of a total_rows table (a table larger than one
   binding takes several dispatches; the first also writes zeros for ids outside it). */
#define FERRY_PUSH_EMBED \
    uint tokens;         \
    uint n_cols;         \
    uint row_bytes;      \
    uint n_rows;         \
    uint first_row;      \
    uint total_rows;

/* Router over logits [tokens, n_experts]; see shaders/router.comp. function: 0 softmax
 * then top-k, 1 top-k then softmax, 2 sigmoid (as cpu::RouterFunction). */
#define FERRY_PUSH_ROUTER \
    uint tokens;          \
    uint n_experts;       \
    uint top_k;           \
    uint function;        \
    uint renormalize;     \
    uint has_bias;        \
    float weight_scale;   \
    uint has_expert_scale;

/* x[t] = (accumulate ? x[t] : 0) + sum_k w[t, k] * expert_out[t, k], rows of n floats. */
#define FERRY_PUSH_MOE_COMBINE \
    uint tokens;               \
    uint n;                    \
    uint top_k;                \
    uint accumulate;

/* Top-k (ties to the lower index) of each row's candidates, in chunks of chunk_len;
 * see shaders/topk.comp. */
#define FERRY_PUSH_TOPK \
    uint rows;          \
    uint n;             \
    uint k;             \
    uint chunk_len;     \
    uint n_chunks;

/* Row ops in place on x [n / width, width] (shaders/rows.comp): a broadcast row (bias) or
 * a per-row scalar gate. */
#define FERRY_PUSH_ROWS \
    uint n;             \
    uint width;

/* Linear-attention (gated DeltaNet) ops, shaders/ssm_conv.comp and delta_net.comp; the
 * conv kernel is at most FERRY_SSM_MAX_KERNEL taps, a q/k head at most FERRY_DELTA_MAX_KDIM. */
#define FERRY_SSM_MAX_KERNEL 8
#define FERRY_DELTA_MAX_KDIM 256

/* Causal conv1d + SiLU in place on x [tokens, x_stride] (channels at 0..), with the
 * rolling state [channels, kernel - 1]; fresh: the state is taken as zeros. */
#define FERRY_PUSH_SSM_CONV \
    uint tokens;            \
    uint channels;          \
    uint kernel;            \
    uint x_stride;          \
    uint fresh;

/* The gated delta rule over tokens (one workgroup per V head); mix [tokens, mix_stride]
 * holds q | k | v; see shaders/delta_net.comp. */
#define FERRY_PUSH_DELTA_NET \
    uint tokens;             \
    uint k_heads;            \
    uint v_heads;            \
    uint k_dim;              \
    uint v_dim;              \
    uint mix_stride;         \
    uint grouped;            \
    uint fresh;              \
    float eps;

/* out[t, out_offset + g * out_group_stride + i] = in[t, in_offset + g * in_group_stride + i]
 * for g < groups, i < len: column blocks of each token's row copied (a fused projection
 * split, or heads interleaved with others). */
#define FERRY_PUSH_GATHER \
    uint tokens;          \
    uint groups;          \
    uint len;             \
    uint in_stride;       \
    uint in_offset;       \
    uint in_group_stride; \
    uint out_stride;      \
    uint out_offset;      \
    uint out_group_stride;

#endif /* FERRY_SHADERS_BLOCK_OPS_H */
