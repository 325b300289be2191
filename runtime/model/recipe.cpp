#include "model/recipe.h"

#include "base/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ferry::model {

namespace {

std::string shape_text(std::span<const std::uint64_t> dims) {
    return fmt::format("[{}]", fmt::join(dims, ", "));
}

}  // namespace

const gguf::TensorInfo* TensorTable::optional(const std::string& name,
                                              std::vector<std::uint64_t> shape) const {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (t && t->dims != shape)
        fail("{}: tensor {} has shape {}, expected {}", file_.name(), name, shape_text(t->dims),
             shape_text(shape));
    return t;
}

const gguf::TensorInfo* TensorTable::require(const std::string& name,
                                             std::vector<std::uint64_t> shape) const {
    const gguf::TensorInfo* t = optional(name, shape);
    if (!t) fail("{}: tensor {} is missing (expected shape {})", file_.name(), name, shape_text(shape));
    return t;
}

}  // namespace ferry::model
