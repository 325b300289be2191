#include "cpu/reference_matmul.h"

#include <vector>

#include "base/error.h"
#include "quant/quant.h"

namespace ferry::cpu {
namespace {

std::uint64_t stride_of(const QuantMatrix& w) {
    return w.row_stride ? w.row_stride
                        : gguf::row_bytes(gguf::type_traits(w.type), static_cast<std::uint64_t>(w.cols));
}

float dot(const float* a, const float* b, std::int64_t n) {
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

}  // namespace

void check_matrix(const QuantMatrix& w) {
    if (w.rows <= 0 || w.cols <= 0)
        fail("reference matmul: matrix shape [{}, {}] is empty or negative", w.rows, w.cols);
    quant::check_row(w.type, w.cols, "reference matmul weight row");
    if (w.data == nullptr) fail("reference matmul: weight data pointer is null");
    const std::uint64_t packed =
        gguf::row_bytes(gguf::type_traits(w.type), static_cast<std::uint64_t>(w.cols));
    if (w.row_stride != 0 && w.row_stride < packed)
        fail("reference matmul: row stride {} bytes is shorter than one {}-element {} row ({} bytes)",
             w.row_stride, w.cols, gguf::type_name(w.type), packed);
}

void reference_matvec(const QuantMatrix& w, std::span<const float> x, std::span<float> y) {
    reference_matmul(w, x, 1, y);
}

void reference_matvec_transposed(const QuantMatrix& w, std::span<const float> x, std::span<float> y) {
    check_matrix(w);
    if (x.size() != std::uint64_t(w.rows) || y.size() != std::uint64_t(w.cols))
        fail("reference transposed matvec: {} inputs and {} outputs for a [{}, {}] matrix", x.size(), y.size(),
             w.rows, w.cols);
    const std::uint64_t stride = stride_of(w);
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    std::fill(y.begin(), y.end(), 0.f);
    for (std::int64_t r = 0; r < w.rows; ++r) {
        const auto* src = static_cast<const std::uint8_t*>(w.data) + static_cast<std::uint64_t>(r) * stride;
        quant::dequantize_row(w.type, src, row.data(), w.cols);
        for (std::int64_t c = 0; c < w.cols; ++c) y[std::size_t(c)] += row[std::size_t(c)] * x[std::size_t(r)];
    }
}

void reference_matmul(const QuantMatrix& w, std::span<const float> x, std::int64_t n_tokens,
                      std::span<float> y) {
    check_matrix(w);
    if (n_tokens <= 0) fail("reference matmul: token count {} must be positive", n_tokens);
    const auto need_x = static_cast<std::uint64_t>(n_tokens) * static_cast<std::uint64_t>(w.cols);
    const auto need_y = static_cast<std::uint64_t>(n_tokens) * static_cast<std::uint64_t>(w.rows);
    if (x.size() != need_x)
        fail("reference matmul: input has {} floats, expected {} tokens x {} columns", x.size(), n_tokens,
             w.cols);
    if (y.size() != need_y)
        fail("reference matmul: output has {} floats, expected {} tokens x {} rows", y.size(), n_tokens,
             w.rows);

    const std::uint64_t stride = stride_of(w);
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    for (std::int64_t r = 0; r < w.rows; ++r) {
        const auto* src = static_cast<const std::uint8_t*>(w.data) + static_cast<std::uint64_t>(r) * stride;
        quant::dequantize_row(w.type, src, row.data(), w.cols);
        for (std::int64_t t = 0; t < n_tokens; ++t)
            y[static_cast<std::size_t>(t * w.rows + r)] = dot(row.data(), x.data() + t * w.cols, w.cols);
    }
}

}  // namespace ferry::cpu
