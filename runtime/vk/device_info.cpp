#include "vk/device_info.h"

#include "vk/feature_chain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace ferry::vk {
namespace {

std::vector<VkExtensionProperties> device_extensions(VkPhysicalDevice pd) {
    std::uint32_t count = 0;
    check(vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr),
          "vkEnumerateDeviceExtensionProperties");
    std::vector<VkExtensionProperties> exts(count);
    check(vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data()),
          "vkEnumerateDeviceExtensionProperties");
    exts.resize(count);
    return exts;
}

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
    return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
        return std::strcmp(e.extensionName, name) == 0;
    });
}

DeviceType to_device_type(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return DeviceType::Discrete;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return DeviceType::Integrated;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return DeviceType::Virtual;
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return DeviceType::Cpu;
        default:
            return DeviceType::Other;
    }
}

void probe_queues(DeviceInfo& info) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &count, families.data());
    for (std::uint32_t i = 0; i < count; ++i) {
        const VkQueueFlags f = families[i].queueFlags;
        if (families[i].queueCount == 0) continue;
        // A compute family without graphics is the dedicated (async) compute engine on
        // AMD and NVIDIA; take it when present, else the first family with compute.
        if (f & VK_QUEUE_COMPUTE_BIT) {
            const bool better = !info.compute_family ||
                                ((families[*info.compute_family].queueFlags & VK_QUEUE_GRAPHICS_BIT) &&
                                 !(f & VK_QUEUE_GRAPHICS_BIT));
            if (better) {
                info.compute_family = i;
                info.compute_queue_count = families[i].queueCount;
            }
        }
        // A transfer-only family is the copy engine: copies there overlap compute.
        if ((f & VK_QUEUE_TRANSFER_BIT) && !(f & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) &&
            !info.transfer_family)
            info.transfer_family = i;
    }
}

void probe_memory(DeviceInfo& info) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
    budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
    VkPhysicalDeviceMemoryProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
    if (info.features.memory_budget) props.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(info.handle, &props);
    const auto& mem = props.memoryProperties;
    for (std::uint32_t h = 0; h < mem.memoryHeapCount; ++h) {
        if (!(mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
        if (mem.memoryHeaps[h].size > info.device_local_bytes) {
            info.device_local_heap = h;
            info.device_local_bytes = mem.memoryHeaps[h].size;
        }
    }
    if (info.features.memory_budget && info.device_local_bytes > 0) {
        info.budget_bytes = budget.heapBudget[info.device_local_heap];
        info.usage_bytes = budget.heapUsage[info.device_local_heap];
    }
}

// Features and properties of a Vulkan >= 1.2 device, through the pNext chains. Only
// structures the device supports are chained (the validation layer checks that).
void probe_features(DeviceInfo& info, const std::vector<VkExtensionProperties>& exts) {
    const bool v13 = info.api_version >= VK_API_VERSION_1_3;
    const bool dot_ext = v13 || has_extension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    const bool size_ext = v13 || has_extension(exts, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    info.features.memory_budget = has_extension(exts, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    info.features.external_memory_host = has_extension(exts, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);

    FeatureChain chain(v13, dot_ext, size_ext);
    VkPhysicalDeviceFeatures2 features{};
    features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    features.pNext = chain.head();
    vkGetPhysicalDeviceFeatures2(info.handle, &features);
    const VkPhysicalDeviceVulkan11Features& f11 = chain.v11;
    const VkPhysicalDeviceVulkan12Features& f12 = chain.v12;
    const VkPhysicalDeviceVulkan13Features& f13 = chain.v13;

    DeviceFeatures& f = info.features;
    f.shader_float16 = f12.shaderFloat16;
    f.shader_int8 = f12.shaderInt8;
    f.storage_buffer_16bit = f11.storageBuffer16BitAccess;
    f.storage_buffer_8bit = f12.storageBuffer8BitAccess;
    f.buffer_device_address = f12.bufferDeviceAddress;
    f.timeline_semaphore = f12.timelineSemaphore;
    f.host_query_reset = f12.hostQueryReset;
    f.integer_dot_product =
        v13 ? f13.shaderIntegerDotProduct : (dot_ext && chain.dot.shaderIntegerDotProduct);
    f.subgroup_size_control = v13 ? f13.subgroupSizeControl : (size_ext && chain.size.subgroupSizeControl);
    f.compute_full_subgroups = v13 ? f13.computeFullSubgroups : (size_ext && chain.size.computeFullSubgroups);

    VkPhysicalDeviceVulkan11Properties p11{};
    p11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES;
    VkPhysicalDeviceVulkan12Properties p12{};
    p12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES;
    p11.pNext = &p12;
    VkPhysicalDeviceSubgroupSizeControlProperties size_props{};
    size_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES;
    VkPhysicalDeviceShaderIntegerDotProductProperties dot_props{};
    dot_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES;
    VkPhysicalDeviceExternalMemoryHostPropertiesEXT host_props{};
    host_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT;
    void** tail = &p12.pNext;
    if (size_ext) {
        *tail = &size_props;
        tail = &size_props.pNext;
    }
    if (dot_ext) {
        *tail = &dot_props;
        tail = &dot_props.pNext;
    }
    if (f.external_memory_host) {
        *tail = &host_props;
        tail = &host_props.pNext;
    }
    VkPhysicalDeviceProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props.pNext = &p11;
    vkGetPhysicalDeviceProperties2(info.handle, &props);

    info.driver_name = p12.driverName;
    info.driver_info = p12.driverInfo;
    f.integer_dot_product_4x8_accelerated =
        f.integer_dot_product && dot_props.integerDotProduct4x8BitPackedSignedAccelerated;
    DeviceLimits& l = info.limits;
    l.subgroup_size = p11.subgroupSize;
    l.min_subgroup_size = size_ext ? size_props.minSubgroupSize : p11.subgroupSize;
    l.max_subgroup_size = size_ext ? size_props.maxSubgroupSize : p11.subgroupSize;
    l.max_memory_allocation = p11.maxMemoryAllocationSize;
    if (f.external_memory_host)
        l.min_imported_host_pointer_alignment = host_props.minImportedHostPointerAlignment;
}

DeviceInfo probe(const Instance& instance, VkPhysicalDevice pd, std::uint32_t index) {
    DeviceInfo info;
    info.index = index;
    info.handle = pd;
    VkPhysicalDeviceProperties p{};
    vkGetPhysicalDeviceProperties(pd, &p);
    info.name = p.deviceName;
    info.vendor_id = p.vendorID;
    info.device_id = p.deviceID;
    info.driver_version = p.driverVersion;
    std::copy(std::begin(p.pipelineCacheUUID), std::end(p.pipelineCacheUUID),
              info.pipeline_cache_uuid.begin());
    info.type = to_device_type(p.deviceType);
    info.device_api_version = p.apiVersion;
    info.api_version = std::min(p.apiVersion, instance.api_version());
    const VkPhysicalDeviceLimits& lim = p.limits;
    info.limits.max_compute_shared_memory = lim.maxComputeSharedMemorySize;
    info.limits.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
    info.limits.max_workgroup_size_x = lim.maxComputeWorkGroupSize[0];
    info.limits.max_workgroup_count_x = lim.maxComputeWorkGroupCount[0];
    info.limits.max_push_constants = lim.maxPushConstantsSize;
    info.limits.max_storage_buffer_range = lim.maxStorageBufferRange;
    info.limits.non_coherent_atom_size = lim.nonCoherentAtomSize;
    info.limits.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;

    probe_queues(info);
    if (p.apiVersion < VK_API_VERSION_1_2) {
        // Feature chains of 1.2 are not valid here; report what we know and move on.
        info.unusable_reason =
            fmt::format("supports Vulkan {} only; ferry needs 1.2", format_api_version(p.apiVersion));
        probe_memory(info);
        return info;
    }
    probe_features(info, device_extensions(pd));
    probe_memory(info);
    if (!info.compute_family)
        info.unusable_reason = "has no compute queue";
    else if (!info.features.timeline_semaphore)
        info.unusable_reason = "lacks timeline semaphores (a Vulkan 1.2 feature ferry needs)";
    else if (info.device_local_bytes == 0)
        info.unusable_reason = "reports no device-local memory";
    return info;
}

}  // namespace

std::string_view device_type_name(DeviceType type) {
    switch (type) {
        case DeviceType::Discrete:
            return "discrete GPU";
        case DeviceType::Integrated:
            return "integrated GPU";
        case DeviceType::Virtual:
            return "virtual GPU";
        case DeviceType::Cpu:
            return "CPU";
        case DeviceType::Other:
            break;
    }
    return "other";
}

std::string vendor_name(std::uint32_t vendor_id) {
    switch (vendor_id) {
        case 0x10DE:
            return "NVIDIA";
        case 0x1002:
            return "AMD";
        case 0x1022:
            return "AMD";
        case 0x8086:
            return "Intel";
        case 0x13B5:
            return "ARM";
        case 0x5143:
            return "Qualcomm";
        case 0x1010:
            return "Imagination";
        case 0x106B:
            return "Apple";
        case 0x14E4:
            return "Broadcom";
        case VK_VENDOR_ID_MESA:
            return "Mesa";
        default:
            return fmt::format("{:#06x}", vendor_id);
    }
}

std::vector<DeviceInfo> list_devices(const Instance& instance) {
    std::uint32_t count = 0;
    check(vkEnumeratePhysicalDevices(instance.handle(), &count, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> handles(count);
    check(vkEnumeratePhysicalDevices(instance.handle(), &count, handles.data()),
          "vkEnumeratePhysicalDevices");
    std::vector<DeviceInfo> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) out.push_back(probe(instance, handles[i], i));
    return out;
}

std::uint64_t default_vram_budget(const DeviceInfo& info) {
    const std::uint64_t reported = info.budget_bytes.value_or(info.device_local_bytes);
    // 1/16 of the memory, at least 256 MiB: room for the driver, the desktop and the
    // allocations ferry does not count (descriptor pools, pipelines, command buffers).
    const std::uint64_t margin = std::max<std::uint64_t>(reported / 16, 256ull << 20);
    return reported > 2 * margin ? reported - margin : reported / 2;
}

}  // namespace ferry::vk
