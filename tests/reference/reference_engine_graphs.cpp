#include "reference_engine_graphs.h"

#include "model/families/llama4_blocks.h"
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/reference_blocks.h"

namespace ferry::test {

namespace {

using model::Act;

// h = RMSNorm(x) ⊙ ffn_norm, and x <- h: the FFN then adds to h, as the reference engine's
// MoE layers do (the header says why).
template <class Blocks>
void keep_normed_as_residual(Blocks& b, std::uint32_t l) {
    b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::H);
    b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::X);
}

template <class Blocks>
void mixtral(Blocks& b) {
    b.embed();
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        model::blocks::attention(b, l);
        keep_normed_as_residual(b, l);
        model::blocks::moe_on_normed(b, l);
    }
    model::blocks::output(b);
}

template <class Blocks>
void llama4(Blocks& b) {
    b.embed();
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        model::llama4::attention(b, l, /*qk_norm=*/false);
        if (model::moe_index(b.config(), l) >= 0)
            keep_normed_as_residual(b, l);
        else
            b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::H);  // dense layers: as published
        model::llama4::ffn_on_normed(b, l);
    }
    model::blocks::output(b);
}

// The family's recipe (tensors, experts) with another forward pass.
model::Recipe with_forward(std::string_view architecture, void (*gpu)(model::GpuBlocks&),
                           void (*reference)(model::ReferenceBlocks&)) {
    model::Recipe r = *model::find_recipe(architecture);
    r.gpu_forward = gpu;
    r.reference_forward = reference;
    return r;
}

}  // namespace

const model::Recipe* reference_engine_graph(std::string_view model) {
    static const model::Recipe kMixtral = with_forward("llama", mixtral<model::GpuBlocks>,
                                                       mixtral<model::ReferenceBlocks>);
    static const model::Recipe kLlama4 = with_forward("llama4", llama4<model::GpuBlocks>,
                                                      llama4<model::ReferenceBlocks>);
    if (model == "mixtral-dev") return &kMixtral;
    if (model == "llama4-dev") return &kLlama4;
    return nullptr;
}

}  // namespace ferry::test
