#include "vk/pipeline.h"

#include "base/error.h"
#include "base/timing.h"
#include "shaders/embedded_spirv.h"
#include "vk/spirv_reflect.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

namespace ferry::vk {

namespace {

// A C++ side that binds fewer buffers or pushes fewer bytes than the shader declares is a
// bug in ferry (the GLSL changed, the dispatch code did not). More is fine: the optimiser
// drops bindings a variant never reads, and the set layout may still list them.
void check_interface(const shaders::Spirv& spirv, const PipelineDesc& desc) {
    const std::string name(spirv.name);
    const ShaderInterface iface = reflect_shader({spirv.words, spirv.word_count}, name);
    if (desc.storage_buffers < iface.storage_buffers)
        throw std::logic_error(
            fmt::format("shader {}: uses storage buffer binding {}, the pipeline declares {}", name,
                        iface.storage_buffers - 1, desc.storage_buffers));
    if (iface.push_constant_bytes && desc.push_constant_bytes < *iface.push_constant_bytes)
        throw std::logic_error(
            fmt::format("shader {}: push-constant block is {} bytes, the pipeline declares {}", name,
                        *iface.push_constant_bytes, desc.push_constant_bytes));
}

}  // namespace

Pipeline::Pipeline(Device& device, const PipelineDesc& desc)
    : device_(device.handle()),
      name_(desc.shader),
      push_constant_bytes_(desc.push_constant_bytes),
      storage_buffers_(desc.storage_buffers) {
    const shaders::Spirv* spirv = shaders::find(desc.shader);
    if (!spirv)
        fail("shader variant '{}' is not in this build (add it to shaders/CMakeLists.txt)", desc.shader);
    check_interface(*spirv, desc);
    if (push_constant_bytes_ % 4 != 0 || push_constant_bytes_ > device.limits().max_push_constants)
        fail("shader '{}': {} bytes of push constants; they must be a multiple of 4 and at most {} on {}",
             desc.shader, push_constant_bytes_, device.limits().max_push_constants, device.info().name);

    // When a later step throws, release() destroys what the earlier steps made.
    try {
        std::vector<VkDescriptorSetLayoutBinding> bindings(storage_buffers_);
        for (std::uint32_t i = 0; i < storage_buffers_; ++i) {
            bindings[i].binding = i;
            bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            bindings[i].descriptorCount = 1;
            bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        VkDescriptorSetLayoutCreateInfo set_info{};
        set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
        set_info.bindingCount = storage_buffers_;
        set_info.pBindings = bindings.data();
        check(vkCreateDescriptorSetLayout(device_, &set_info, nullptr, &set_layout_),
              "vkCreateDescriptorSetLayout");

        VkPushConstantRange push{};
        push.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        push.size = push_constant_bytes_;
        VkPipelineLayoutCreateInfo layout_info{};
        layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
        layout_info.setLayoutCount = 1;
        layout_info.pSetLayouts = &set_layout_;
        layout_info.pushConstantRangeCount = push_constant_bytes_ ? 1 : 0;
        layout_info.pPushConstantRanges = &push;
        check(vkCreatePipelineLayout(device_, &layout_info, nullptr, &layout_), "vkCreatePipelineLayout");

        VkShaderModuleCreateInfo module_info{};
        module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
        module_info.codeSize = spirv->word_count * sizeof(std::uint32_t);
        module_info.pCode = spirv->words;
        VkShaderModule module = VK_NULL_HANDLE;
        check(vkCreateShaderModule(device_, &module_info, nullptr, &module),
              fmt::format("vkCreateShaderModule ({})", name_));

        std::vector<VkSpecializationMapEntry> entries(desc.spec_constants.size());
        for (std::uint32_t i = 0; i < entries.size(); ++i)
            entries[i] = {i, i * static_cast<std::uint32_t>(sizeof(std::uint32_t)), sizeof(std::uint32_t)};
        VkSpecializationInfo spec{};
        spec.mapEntryCount = static_cast<std::uint32_t>(entries.size());
        spec.pMapEntries = entries.data();
        spec.dataSize = desc.spec_constants.size() * sizeof(std::uint32_t);
        spec.pData = desc.spec_constants.data();

        VkComputePipelineCreateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        info.stage.module = module;
        info.stage.pName = "main";
        info.stage.pSpecializationInfo = entries.empty() ? nullptr : &spec;
        info.layout = layout_;
        const auto t0 = std::chrono::steady_clock::now();
        const VkResult r = vkCreateComputePipelines(device_, device.pipeline_cache().handle(), 1, &info,
                                                    nullptr, &pipeline_);
        if (r == VK_SUCCESS) device.pipeline_cache().note_built(seconds_since(t0));
        vkDestroyShaderModule(device_, module, nullptr);  // the pipeline keeps what it needs
        check(r, fmt::format("vkCreateComputePipelines ({})", name_));
    } catch (...) {
        release();
        throw;
    }
}

Pipeline::~Pipeline() {
    release();
}

void Pipeline::release() noexcept {
    if (pipeline_ != VK_NULL_HANDLE) vkDestroyPipeline(device_, pipeline_, nullptr);
    if (layout_ != VK_NULL_HANDLE) vkDestroyPipelineLayout(device_, layout_, nullptr);
    if (set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
    pipeline_ = VK_NULL_HANDLE;
    layout_ = VK_NULL_HANDLE;
    set_layout_ = VK_NULL_HANDLE;
}

}  // namespace ferry::vk
