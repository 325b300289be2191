#pragma once
// The feature structures ferry reads and enables, linked into one pNext chain: Vulkan 1.1
// -> 1.2 -> 1.3, or before 1.3 the two extension structures that carry the same fields
// (integer dot product, subgroup size control), each only where it is wanted (the
// validation layer rejects structures of extensions that are not there or not enabled).
// Probing hands head() to vkGetPhysicalDeviceFeatures2; device creation sets the fields
// and hands it to vkCreateDevice.
#include "vk/vulkan.h"

namespace ferry::vk {

struct FeatureChain {
    VkPhysicalDeviceVulkan11Features v11{};
    VkPhysicalDeviceVulkan12Features v12{};
    VkPhysicalDeviceVulkan13Features v13{};
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot{};
    VkPhysicalDeviceSubgroupSizeControlFeatures size{};

    // vulkan13: chain v13; else chain dot and size where with_dot / with_size.
    FeatureChain(bool vulkan13, bool with_dot, bool with_size) {
        v11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
        v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
        v13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
        dot.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES;
        size.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES;
        v11.pNext = &v12;
        void** tail = &v12.pNext;
        const auto link = [&tail](auto& next) {
            *tail = &next;
            tail = &next.pNext;
        };
        if (vulkan13) {
            link(v13);
            return;
        }
        if (with_dot) link(dot);
        if (with_size) link(size);
    }
    FeatureChain(const FeatureChain&) = delete;  // the chain points into itself
    FeatureChain& operator=(const FeatureChain&) = delete;

    void* head() { return &v11; }
};

}  // namespace ferry::vk
