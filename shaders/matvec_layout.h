/* Push constants and indirection tables of the matrix-vector (decode) and matrix-matrix
 * (prefill) shaders, shared by C++ (runtime/kernels/) and GLSL (shaders/matvec*.comp,
 * matmul*.comp). Written in the subset both languages read: structs of uint, // comments.
 *
 * Notation: W is [rows, cols] in a quant type (ggml order: a row is `cols` contiguous
 * elements; row r starts at weight byte offset + r * row_stride). X rows and Y rows are
 * F32. Every weight byte offset (weight_offset, ExpertGroup::weight_offset, the decode
 * expert table) must be a multiple of 4; a bound weight buffer holds at most 4 GiB.
 *
 * Bindings (set 0):
 *   matvec / matmul:        0 W words, 1 X floats, 2 Y floats
 *   matvec expert:          0 expert pool words, 1 X, 2 Y, 3 uint slot_offset[n_slots]
 *   matmul expert:          0 expert pool words, 1 X, 2 Y, 3 ExpertGroup groups[n_groups],
 *                           4 uint routes[]
 *
 * Expert indirection (one dispatch for all selected experts of a layer):
 *   decode  grid.y = slot s (0..n_slots-1): W = pool + slot_offset[s] (+ weight_offset);
 *           x = X + x_offset + s * x_slot_stride  (x_slot_stride 0: gate/up share x);
 *           y = Y + y_offset + s * y_slot_stride.
 *   prefill grid.z = group g: one expert, W = pool + groups[g].weight_offset
 *           (+ weight_offset); it serves routes[route_begin .. route_begin + route_count).
 *           A route r = token * n_slots + slot (the flat index into the router's
 *           [n_tokens, n_slots] top-k ids): x row = X + x_offset + token * x_stride +
 *           slot * x_slot_stride, y row = Y + y_offset + token * y_stride +
 *           slot * y_slot_stride.
 * The offload engine points slot_offset / ExpertGroup::weight_offset at VRAM slots of
 * the pool; the shaders never see expert ids. */
#ifndef FERRY_SHADERS_MATVEC_LAYOUT_H
#define FERRY_SHADERS_MATVEC_LAYOUT_H

#ifdef __cplusplus
#include <cstdint>
namespace ferry::kernels::gpu {
using uint = std::uint32_t;
#endif

// Push constants of every matvec / matmul variant (48 bytes).
struct MatPush {
    uint rows;           // W rows = outputs per token
    uint cols;           // W cols = inputs per token; a whole number of blocks
    uint row_stride;     // bytes from one W row to the next
    uint weight_offset;  // bytes: W (or the expert pool base) in binding 0; multiple of 4
    uint n_tokens;       // matvec / matmul: tokens in X / Y; expert matmul: most routes in a group
    uint n_slots;        // expert: selected experts per token (route = token * n_slots + slot)
    uint x_offset;       // floats: first X row in binding 1
    uint x_stride;       // floats from one token's X row to the next
    uint x_slot_stride;  // expert: floats from one slot's X row to the next (0: shared x)
    uint y_offset;       // floats: first Y row in binding 2
    uint y_stride;       // floats from one token's Y row to the next
    uint y_slot_stride;  // expert: floats from one slot's Y row to the next
};

// One expert's share of a prefill expert matmul (16 bytes).
struct ExpertGroup {
    uint weight_offset;  // bytes: this expert's W in the pool; multiple of 4
    uint route_begin;    // first index into routes[]
    uint route_count;    // routes (token, slot pairs) this expert serves
    uint reserved;       // 0
};

// Storage buffers (bindings 0..n-1) of each kind of dispatch, as listed above.
#define FERRY_MAT_BUFFERS 3                // matvec, matmul
#define FERRY_MATVEC_EXPERT_BUFFERS 4
#define FERRY_MATMUL_EXPERT_BUFFERS 5

// Elements one decode-matvec invocation handles per step (MV_UNIT in
// shaders/matvec_weights.glsl); the host sizes rows per workgroup from them.
#define FERRY_MV_UNIT_Q4_K 64   // one 64-element group of a super-block
#define FERRY_MV_UNIT_PLAIN 4   // F32, F16, BF16
#define FERRY_MV_UNIT_BLOCK 32  // every other type: a 32-element block or part of one

// Tile of the prefill matmul: rows x tokens per workgroup, K step; the workgroup is
// FERRY_MATMUL_THREADS invocations (each computes a 4 x 4 block of outputs).
#define FERRY_MATMUL_TILE_ROWS 64
#define FERRY_MATMUL_TILE_TOKENS 32
#define FERRY_MATMUL_TILE_K 32
#define FERRY_MATMUL_THREADS 128

#ifdef __cplusplus
static_assert(sizeof(MatPush) == 48, "MatPush must match the GLSL push-constant block");
static_assert(sizeof(ExpertGroup) == 16, "ExpertGroup must match the GLSL std430 struct");
static_assert(FERRY_MATMUL_TILE_ROWS * FERRY_MATMUL_TILE_TOKENS == 16 * FERRY_MATMUL_THREADS,
              "each matmul invocation owns a 4 x 4 output block");
}  // namespace ferry::kernels::gpu
#endif

#endif /* FERRY_SHADERS_MATVEC_LAYOUT_H */
