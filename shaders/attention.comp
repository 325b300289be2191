#version 450
// Attention over the F16 KV cache, flash-attention style: the keys [0, kv_len) are cut
// into n_splits splits of split_len; a workgroup takes one split for ROWS query rows =
// HPW query heads (all reading the same KV head: grouped-query attention reads each K/V
// row once for the whole group) x QT query tokens, and walks its split in chunks of WG
// keys with an online softmax (running max m, running sum l, unnormalised output o).
//   n_splits == 1: writes out = o / l directly.
//   n_splits > 1:  writes the partial (o, m, l) of its split; attention_combine.comp
//                  merges the splits.
// Masks per row: causal (key <= positions[t]), sliding window (key > pos - window when
// sliding_window > 0), keys < kv_len. Scores: dot(q, k) * scale, then soft-capping
// (softcap * tanh(s / softcap)) when softcap > 0, as cpu::attention. Attention sinks
// (has_sinks, gpt-oss): head h's sink logit starts the online softmax of split 0 as one
// more score with a zero value row (m = sink, l = 1), so it joins the denominator once.
// Chunked attention (chunk > 0, Llama 4): keys from floor(pos / chunk) * chunk on. The
// attention temperature (temp_scale > 0, Llama 4's no-rope layers) scales a row's scores
// by 1 + temp_scale * ln(floor((pos + 1) / temp_floor) + 1), as scaling its query.
// F32 arithmetic.
//
// Layouts (floats unless said):
//   q         [tokens, q_stride]; head h of token t at t * q_stride + h * HD
//   positions int32 [tokens]
//   k/v cache F16 [n_ctx, n_kv_heads, HD]                      (kv_cache.glsl)
//   out       [tokens, n_heads, HD]
//   partial   [tokens, n_heads, n_splits, HD + 2]: o[HD], m, l  (n_splits > 1 only)
//   sinks     [n_heads]                                         (has_sinks only)
// Grid: x = n_heads / HPW head groups, y = n_splits, z = ceil(tokens / QT).
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;   // threads = keys per chunk
layout(constant_id = 1) const uint HD = 128;   // head_dim, a multiple of 4
layout(constant_id = 2) const uint HPW = 8;    // query heads per workgroup (divides n_heads / n_kv_heads)
layout(constant_id = 3) const uint QT = 1;     // query tokens per workgroup
const uint ROWS = HPW * QT;                    // <= FERRY_ATTN_MAX_ROWS
const uint HD4 = HD / 4u;

layout(std430, set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Positions { int positions[]; };
#define KV_BINDING_K 2
#define KV_BINDING_V 3
#define KV_ACCESS readonly
#include "kv_cache.glsl"
layout(std430, set = 0, binding = 4) writeonly buffer Out { float out_[]; };
layout(std430, set = 0, binding = 5) writeonly buffer Partial { float partial[]; };
layout(std430, set = 0, binding = 6) readonly buffer Sinks { float sinks[]; };

layout(push_constant) uniform Push { FERRY_PUSH_ATTENTION } pc;

shared vec4 q_sh[ROWS * HD4];   // query rows
shared vec4 o_sh[ROWS * HD4];   // unnormalised outputs
shared float p_sh[ROWS * WG];   // scores, then probabilities, of the current chunk
shared float m_sh[ROWS];        // running max
shared float l_sh[ROWS];        // running sum of exp(score - m)
shared float alpha_sh[ROWS];    // exp(m_old - m_new) of the current chunk
shared int lo_sh[ROWS];         // first key of the row (-1: row unused)
shared int hi_sh[ROWS];         // last key of the row
shared float qs_sh[ROWS];       // the row's score scale (attention temperature)

const float NEG_INF = -1.0 / 0.0;

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint n_kv = pc.n_kv_heads;
    const uint head0 = gl_WorkGroupID.x * HPW;
    const uint kv_head = head0 / (pc.n_heads / n_kv);
    const uint split = gl_WorkGroupID.y;
    const uint t0 = gl_WorkGroupID.z * QT;

    for (uint r = tid; r < ROWS; r += WG) {
        const uint t = t0 + r / HPW;
        int lo = -1, hi = -1;
        if (t < pc.tokens) {
            const int pos = positions[t];
            hi = min(pos, int(pc.kv_len) - 1);
            lo = pc.sliding_window > 0u ? max(0, pos - int(pc.sliding_window) + 1) : 0;
            if (pc.chunk > 0u) lo = max(lo, pos / int(pc.chunk) * int(pc.chunk));
        }
        qs_sh[r] = pc.scale;
        if (pc.temp_scale > 0.0 && t < pc.tokens)
            qs_sh[r] = pc.scale * (1.0 + pc.temp_scale * log(floor(float(positions[t] + 1) / pc.temp_floor) + 1.0));
        lo_sh[r] = lo;
        hi_sh[r] = hi;
        const bool sink = pc.has_sinks != 0u && split == 0u && t < pc.tokens;
        m_sh[r] = sink ? sinks[head0 + r % HPW] : NEG_INF;
        l_sh[r] = sink ? 1.0 : 0.0;
    }
    for (uint e = tid; e < ROWS * HD4; e += WG) {
        const uint r = e / HD4, t = t0 + r / HPW, h = head0 + r % HPW;
        vec4 v = vec4(0.0);
        if (t < pc.tokens) {
            const uint b = t * pc.q_stride + h * HD + 4u * (e % HD4);
            v = vec4(q[b], q[b + 1u], q[b + 2u], q[b + 3u]);
        }
        q_sh[e] = v;
        o_sh[e] = vec4(0.0);
    }
    barrier();

    // Keys this workgroup visits: its split, cut to the union of its rows' ranges.
    int begin = int(split * pc.split_len);
    int end = int(min((split + 1u) * pc.split_len, pc.kv_len));  // exclusive
    int rows_lo = int(pc.kv_len), rows_hi = -1;
    for (uint r = 0u; r < ROWS; ++r) {
        if (hi_sh[r] < 0) continue;
        rows_lo = min(rows_lo, lo_sh[r]);
        rows_hi = max(rows_hi, hi_sh[r]);
    }
    begin = max(begin, rows_lo);
    end = min(end, rows_hi + 1);

    for (int chunk = begin; chunk < end; chunk += int(WG)) {
        // Scores: thread tid takes key chunk + tid against every row.
        const int key = chunk + int(tid);
        if (key < end) {
            float dots[FERRY_ATTN_MAX_ROWS];
            for (uint r = 0u; r < ROWS; ++r) dots[r] = 0.0;
            const uint kb = ((uint(key) % pc.cache_rows) * n_kv + kv_head) * HD4;
            for (uint d = 0u; d < HD4; ++d) {
                const vec4 k4 = load_k4(kb + d);
                for (uint r = 0u; r < ROWS; ++r) dots[r] += dot(q_sh[r * HD4 + d], k4);
            }
            for (uint r = 0u; r < ROWS; ++r) {
                float s = dots[r] * qs_sh[r];
                if (pc.softcap > 0.0) s = pc.softcap * safe_tanh(s / pc.softcap);
                const bool visible = key >= lo_sh[r] && key <= hi_sh[r];
                p_sh[r * WG + tid] = visible ? s : NEG_INF;
            }
        } else {
            for (uint r = 0u; r < ROWS; ++r) p_sh[r * WG + tid] = NEG_INF;
        }
        barrier();

        // Online softmax: new running max per row and the factor for what came before.
        for (uint r = tid; r < ROWS; r += WG) {
            float m_chunk = NEG_INF;
            for (uint j = 0u; j < WG; ++j) m_chunk = max(m_chunk, p_sh[r * WG + j]);
            const float m_old = m_sh[r];
            const float m_new = max(m_old, m_chunk);
            alpha_sh[r] = m_new == NEG_INF ? 1.0 : exp(m_old - m_new);
            m_sh[r] = m_new;
        }
        barrier();
        for (uint r = 0u; r < ROWS; ++r) {
            const float s = p_sh[r * WG + tid];
            p_sh[r * WG + tid] = s == NEG_INF ? 0.0 : exp(s - m_sh[r]);
        }
        barrier();

        // o = o * alpha + sum_j p_j v_j; the owner of each row's first four dims also
        // updates l.
        const uint n_keys = uint(min(int(WG), end - chunk));
        for (uint e = tid; e < ROWS * HD4; e += WG) {
            const uint r = e / HD4, d = e % HD4;
            const float alpha = alpha_sh[r];
            vec4 acc = o_sh[e] * alpha;
            float sum = 0.0;
            for (uint j = 0u; j < n_keys; ++j) {
                const float p = p_sh[r * WG + j];
                acc += p * load_v4(((uint(chunk) + j) % pc.cache_rows) * n_kv * HD4 + kv_head * HD4 + d);
                sum += p;
            }
            o_sh[e] = acc;
            if (d == 0u) l_sh[r] = l_sh[r] * alpha + sum;
        }
        barrier();
    }

    for (uint e = tid; e < ROWS * HD4; e += WG) {
        const uint r = e / HD4, d = e % HD4, t = t0 + r / HPW, h = head0 + r % HPW;
        if (t >= pc.tokens) continue;
        const vec4 o = o_sh[e];
        if (pc.n_splits == 1u) {
            const float l = l_sh[r];
            const vec4 v = l > 0.0 ? o / l : vec4(0.0);
            const uint b = (t * pc.n_heads + h) * HD + 4u * d;
            out_[b] = v.x;
            out_[b + 1u] = v.y;
            out_[b + 2u] = v.z;
            out_[b + 3u] = v.w;
        } else {
            const uint b = ((t * pc.n_heads + h) * pc.n_splits + split) * (HD + 2u);
            partial[b + 4u * d] = o.x;
            partial[b + 4u * d + 1u] = o.y;
            partial[b + 4u * d + 2u] = o.z;
            partial[b + 4u * d + 3u] = o.w;
            if (d == 0u) {
                partial[b + HD] = m_sh[r];
                partial[b + HD + 1u] = l_sh[r];
            }
        }
    }
}
