#pragma once
// What each Vulkan device is and can do, probed once: identity, memory, the optional
// features ferry's shaders use, and the queue families. Plain data: `ferry devices`
// prints it, device choice ranks it, Device enables from it.
#include "vk/instance.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::vk {

enum class DeviceType { Discrete, Integrated, Virtual, Cpu, Other };
std::string_view device_type_name(DeviceType type);  // "discrete GPU", "CPU", ...
// "NVIDIA", "AMD", "Intel", "Mesa", ... or "0x1234" for an unknown PCI vendor id.
std::string vendor_name(std::uint32_t vendor_id);

// Optional capabilities (true = the device has it). Vulkan 1.2 core ones are still
// optional features there; the others come from extensions or Vulkan 1.3.
struct DeviceFeatures {
    bool shader_float16 = false;                       // fp16 arithmetic in shaders
    bool shader_int8 = false;                          // int8 arithmetic in shaders
    bool storage_buffer_16bit = false;                 // 16-bit loads/stores in storage buffers
    bool storage_buffer_8bit = false;                  // 8-bit loads/stores in storage buffers
    bool integer_dot_product = false;                  // VK_KHR_shader_integer_dot_product / 1.3
    bool integer_dot_product_4x8_accelerated = false;  // packed int8 dot is native
    bool subgroup_size_control = false;                // VK_EXT_subgroup_size_control / 1.3
    bool compute_full_subgroups = false;
    bool memory_budget = false;         // VK_EXT_memory_budget
    bool external_memory_host = false;  // VK_EXT_external_memory_host
    bool buffer_device_address = false;
    bool timeline_semaphore = false;  // required by ferry
    bool host_query_reset = false;    // vkResetQueryPool: resets timestamps for a transfer-only queue
};

struct DeviceLimits {
    std::uint32_t subgroup_size = 0;
    std::uint32_t min_subgroup_size = 0;  // == subgroup_size without size control
    std::uint32_t max_subgroup_size = 0;
    std::uint32_t max_compute_shared_memory = 0;
    std::uint32_t max_workgroup_invocations = 0;
    std::uint32_t max_workgroup_size_x = 0;
    std::uint32_t max_workgroup_count_x = 0;
    std::uint32_t max_push_constants = 0;
    std::uint64_t max_storage_buffer_range = 0;
    std::uint64_t max_memory_allocation = 0;                // Vulkan 1.1 maxMemoryAllocationSize
    std::uint64_t min_imported_host_pointer_alignment = 0;  // 0 without external_memory_host
    std::uint64_t non_coherent_atom_size = 0;
    std::uint64_t min_storage_buffer_offset_alignment = 0;
};

struct DeviceInfo {
    std::uint32_t index = 0;  // position in vkEnumeratePhysicalDevices: what --device takes
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    std::string name;
    std::uint32_t vendor_id = 0;
    std::uint32_t device_id = 0;
    std::uint32_t driver_version = 0;  // the driver's own encoding: only compared, never shown
    // Whose pipeline-cache data this driver accepts (vk/pipeline_cache.h keys its file by it).
    std::array<std::uint8_t, VK_UUID_SIZE> pipeline_cache_uuid{};
    DeviceType type = DeviceType::Other;
    std::string driver_name;  // "NVIDIA", "radv", "llvmpipe"
    std::string driver_info;  // "550.54.14", "Mesa 22.3.6 (LLVM 15.0.6)"
    // What ferry can use: min(device version, instance version).
    std::uint32_t api_version = 0;
    std::uint32_t device_api_version = 0;  // what the driver reports

    std::uint32_t device_local_heap = 0;        // index of the largest device-local heap
    std::uint64_t device_local_bytes = 0;       // its size
    std::optional<std::uint64_t> budget_bytes;  // VK_EXT_memory_budget heapBudget of that heap
    std::optional<std::uint64_t> usage_bytes;   // and heapUsage

    DeviceFeatures features;
    DeviceLimits limits;

    std::optional<std::uint32_t> compute_family;  // preferring a family without graphics
    std::uint32_t compute_queue_count = 0;
    std::optional<std::uint32_t> transfer_family;  // TRANSFER without GRAPHICS and COMPUTE

    // Empty when ferry can run on it; else why not ("Vulkan 1.1 only", ...).
    std::string unusable_reason;
    bool usable() const { return unusable_reason.empty(); }
};

// Every physical device, probed. Empty when the driver lists none.
std::vector<DeviceInfo> list_devices(const Instance& instance);

// Bytes the VRAM accountant gets when the user gives no --vram-budget: the reported
// budget (or heap size) minus a safety margin for the driver and other programs.
std::uint64_t default_vram_budget(const DeviceInfo& info);

}  // namespace ferry::vk
