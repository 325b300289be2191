#include "cpu/elementwise.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ferry::cpu {
namespace {

// Mismatched spans are a caller bug, not a user error.
void check_sizes(const char* op, std::size_t a, std::size_t b, std::size_t out) {
    if (a != out || b != out)
        throw std::logic_error(std::string("cpu::") + op + ": operand sizes " + std::to_string(a) + ", " +
                               std::to_string(b) + " and output " + std::to_string(out) + " differ");
}

}  // namespace

void add(std::span<const float> a, std::span<const float> b, std::span<float> out) {
    check_sizes("add", a.size(), b.size(), out.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] + b[i];
}

void mul(std::span<const float> a, std::span<const float> b, std::span<float> out) {
    check_sizes("mul", a.size(), b.size(), out.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] * b[i];
}

void scale(std::span<const float> a, float scale, std::span<float> out) {
    check_sizes("scale", a.size(), a.size(), out.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] * scale;
}

void softcap(std::span<const float> a, float cap, std::span<float> out) {
    check_sizes("softcap", a.size(), a.size(), out.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = cap * std::tanh(a[i] / cap);
}

void add_row(std::span<float> x, std::span<const float> row) {
    if (row.empty() || x.size() % row.size())
        throw std::logic_error("cpu::add_row: " + std::to_string(x.size()) + " floats are not rows of " +
                               std::to_string(row.size()));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += row[i % row.size()];
}

void sigmoid_gate(std::span<float> x, std::span<const float> gate) {
    if (gate.empty() || x.size() % gate.size())
        throw std::logic_error("cpu::sigmoid_gate: " + std::to_string(x.size()) + " floats are not " +
                               std::to_string(gate.size()) + " rows");
    const std::size_t width = x.size() / gate.size();
    for (std::size_t i = 0; i < x.size(); ++i) x[i] *= 1.f / (1.f + std::exp(-gate[i / width]));
}

}  // namespace ferry::cpu
