#pragma once
// Matrix-vector (decode) and matrix-matrix (prefill) products on the GPU, plain and over
// experts through an indirection table: shaders/matvec.comp, shaders/matmul.comp. This
// file chooses the shader variant per weight type and device, checks shapes, offsets and
// buffer sizes, and records one dispatch per call; the caller owns barriers and submits.
//
//   kernels::MatKernels mat(device);
//   mat.matvec(cmd, {.buffer = &wq, .type = Q4_K, .rows = 4096, .cols = 2048},
//              {.buffer = &x}, {.buffer = &q});                     // q = Wq x
//   mat.expert_matvec(cmd, {.pool = &pool, .type = Q4_K, .rows = 768, .cols = 2048},
//                     slot_offsets, 8, {.buffer = &xn}, {.buffer = &gate, .slot_stride = 768});
//
// Indirection tables and push constants: shaders/matvec_layout.h (shared with GLSL).
#include "gguf/types.h"
#include "shaders/matvec_layout.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/pipeline.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace ferry::kernels {

// W: [rows, cols] in `type`, row r at buffer byte offset + r * row_stride. The shaders
// read weights as 32-bit words, so a weight buffer's size is a whole number of words
// (bytes past the last block may be anything).
struct DeviceMatrix {
    const vk::Buffer* buffer = nullptr;
    std::uint64_t offset = 0;  // bytes; a multiple of 4
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t rows = 0;
    std::uint32_t cols = 0;        // a whole number of blocks of `type`
    std::uint32_t row_stride = 0;  // bytes; 0: packed (gguf::row_bytes(type, cols))
};

// Same-shaped expert matrices somewhere in one pool buffer; which ones a dispatch uses
// comes from the GPU-side table (slot offsets or ExpertGroup), relative to `offset`.
struct ExpertMatrices {
    const vk::Buffer* pool = nullptr;
    std::uint64_t offset = 0;  // bytes added to every table entry; a multiple of 4
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t rows = 0;
    std::uint32_t cols = 0;
    std::uint32_t row_stride = 0;  // bytes; 0: packed
};

// F32 rows in a buffer: row (token t, slot s) starts at float offset + t * token_stride +
// s * slot_stride. Strides 0 mean packed: token_stride = the row length (times n_slots
// for expert outputs), slot_stride = 0 for inputs (every slot reads the token's row) and
// the row length for expert outputs. Quantized weights need offsets and strides that are
// multiples of 4 floats (their inner loops read x as vec4).
struct Activations {
    const vk::Buffer* buffer = nullptr;
    std::uint32_t offset = 0;
    std::uint32_t token_stride = 0;
    std::uint32_t slot_stride = 0;
};

// Decode matvec shape per device: invocations per workgroup (a power of two,
// specialization constant 0), rows per workgroup (constant 1: at least this many; more,
// up to 16, when a row has fewer work units than the workgroup has invocations), and
// whether partial sums are reduced with subgroup arithmetic or in shared memory.
struct MatvecConfig {
    std::uint32_t workgroup_size = 64;
    std::uint32_t rows_per_workgroup = 2;
    bool subgroup_reduce = true;
    // Bytes one weight binding may span; 0: the device's maxStorageBufferRange (128 MiB
    // on lavapipe, 4 GiB on most GPUs). A plain matrix larger than that is split by rows
    // into several dispatches; an expert pool must fit in one binding.
    std::uint64_t max_binding_bytes = 0;
    // product() runs batches of up to this many tokens as matvec (weights decoded per token,
    // read from memory once) and larger ones as the tiled matmul (decoded once per tile).
    std::uint32_t batch_tokens = 4;
};

// Whether the device runs subgroupAdd in compute shaders with subgroups wider than 1
// (VkPhysicalDeviceSubgroupProperties).
bool has_subgroup_arithmetic(const vk::Device& device);
// The config ferry uses on this device: workgroup of 4 subgroups (32..256 invocations),
// 2 rows, subgroup reduction where has_subgroup_arithmetic().
MatvecConfig default_matvec_config(const vk::Device& device);

// Types the kernels run: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL,
// IQ4_XS, MXFP4.
bool supports(gguf::TensorType type);

class MatKernels {
public:
    explicit MatKernels(vk::Device& device);
    MatKernels(vk::Device& device, const MatvecConfig& config);
    ~MatKernels();
    MatKernels(const MatKernels&) = delete;
    MatKernels& operator=(const MatKernels&) = delete;

    const MatvecConfig& config() const { return config_; }

    // Decode: y[rows] = W x[cols] for one token, or for each of n_tokens tokens in turn in
    // the same workgroups (the weights read once from memory, each token's sums exactly as
    // alone). One dispatch per row range that fits in one binding (see
    // MatvecConfig::max_binding_bytes); usually one.
    void matvec(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x, const Activations& y,
                std::uint32_t n_tokens = 1);

    // Y[t, rows] = W X[t, cols] for t < n_tokens by whichever kernel is faster for that many
    // tokens here: matvec up to config().batch_tokens, the tiled matmul beyond.
    void product(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x, const Activations& y,
                 std::uint32_t n_tokens);

    // Decode, every selected expert of a layer in one dispatch. For slot s < n_slots:
    // y_s[rows] = W_s x_s[cols] with W_s at w.offset + slot_offsets[s] bytes of w.pool.
    // slot_offsets: uint32 [n_slots] on the GPU. x.slot_stride 0: all slots share x
    // (gate/up); down passes each slot's own row.
    void expert_matvec(vk::CommandBuffer& cmd, const ExpertMatrices& w, const vk::Buffer& slot_offsets,
                       std::uint32_t n_slots, const Activations& x, const Activations& y);

    // Transposed, W's rows the inputs: Y[t, c] = sum_r W[r, c] X[t, r] for c < cols, t <
    // n_tokens (MLA's absorbed query; small matrices, one invocation per output).
    void matvec_transposed(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x,
                           const Activations& y, std::uint32_t n_tokens);

    // Prefill: Y[t, rows] = W X[t, cols] for t < n_tokens.
    void matmul(vk::CommandBuffer& cmd, const DeviceMatrix& w, const Activations& x, const Activations& y,
                std::uint32_t n_tokens);

    // Prefill over experts: for each group g < n_groups (gpu::ExpertGroup in `groups`),
    // every route r in routes[route_begin, route_begin + route_count) with token
    // t = r / n_slots, slot s = r % n_slots gets y(t, s) = W_g x(t, s).
    // max_routes: the largest route_count of any group (the grid covers it).
    void expert_matmul(vk::CommandBuffer& cmd, const ExpertMatrices& w, const vk::Buffer& groups,
                       std::uint32_t n_groups, const vk::Buffer& routes, std::uint32_t max_routes,
                       std::uint32_t n_slots, const Activations& x, const Activations& y);

    // The embedded shader variant each call uses for `type`, e.g. "matvec_q4_k_shared".
    std::string matvec_variant(gguf::TensorType type, bool expert) const;
    std::string matmul_variant(gguf::TensorType type, bool expert) const;

private:
    std::uint64_t max_binding() const;
    // Rows per workgroup for a matvec over `cols` columns of `type`.
    std::uint32_t matvec_rows(gguf::TensorType type, std::uint32_t cols) const;
    const vk::Pipeline& pipeline(const std::string& name, std::uint32_t buffers,
                                 std::uint32_t matvec_rows = 0);
    std::string tokens_variant(gguf::TensorType type) const;  // "matvec_tokens_q4_k[_shared]"

    vk::Device& device_;
    MatvecConfig config_;
    std::map<std::string, std::unique_ptr<vk::Pipeline>> pipelines_;
};

}  // namespace ferry::kernels
