// The recipes ferry has, one line each: adding a family adds its file and a line here.
#include "base/error.h"
#include "model/recipe.h"

#include <array>

namespace ferry::model {

extern const Recipe kQwen3MoeRecipe;
extern const Recipe kQwen2MoeRecipe;
extern const Recipe kMixtralRecipe;
extern const Recipe kOlmoeRecipe;
extern const Recipe kGptOssRecipe;
extern const Recipe kLlama4Recipe;
extern const Recipe kQwen35MoeRecipe;
extern const Recipe kQwen3NextRecipe;
extern const Recipe kDeepseek2Recipe;
extern const Recipe kGemma4Recipe;

namespace {
const std::array<const Recipe*, 10> kRecipes{&kQwen3MoeRecipe,  &kQwen2MoeRecipe,  &kMixtralRecipe,
                                             &kOlmoeRecipe,     &kGptOssRecipe,    &kLlama4Recipe,
                                             &kQwen35MoeRecipe, &kQwen3NextRecipe, &kDeepseek2Recipe,
                                             &kGemma4Recipe};
}  // namespace

const Recipe* find_recipe(std::string_view architecture) {
    for (const Recipe* r : kRecipes)
        if (r->architecture == architecture) return r;
    return nullptr;
}

const Recipe& recipe_for(const ModelConfig& config, const gguf::File& file, const Recipe* chosen) {
    require_runnable(config, file);
    if (chosen) {
        if (chosen->architecture != config.architecture)
            fail("{}: a '{}' graph cannot run a '{}' model", file.name(), chosen->architecture,
                 config.architecture);
        return *chosen;
    }
    const Recipe* r = find_recipe(config.architecture);
    if (!r) fail("{}: ferry has no recipe for architecture '{}'", file.name(), config.architecture);
    return *r;
}

offload::ExpertLayout expert_layout(const gguf::File& file, const ModelConfig& config) {
    return recipe_for(config, file).experts(file, config);
}

}  // namespace ferry::model
