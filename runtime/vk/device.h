#pragma once
// The logical device: the chosen physical device with its probed optional features
// enabled, a compute queue and a transfer queue, the VRAM accountant and a pipeline cache
// kept on disk between runs.
// Other vk objects keep a reference to it, so it must outlive them.
#include "vk/accountant.h"
#include "vk/device_info.h"
#include "vk/instance.h"
#include "vk/pipeline_cache.h"
#include "vk/queue.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ferry::vk {

struct DeviceOptions {
    std::optional<std::uint32_t> index;        // --device; default: device_choice.h
    std::optional<std::uint64_t> vram_budget;  // --vram-budget; default: default_vram_budget()

    // Treat the device as lacking a feature, so fallback shader variants can be tested on
    // hardware (or lavapipe) that has it. Set from FERRY_DISABLE by apply_env().
    bool disable_fp16 = false;                   // "fp16": shaderFloat16
    bool disable_int8 = false;                   // "int8": shaderInt8
    bool disable_storage16 = false;              // "storage16": storageBuffer16BitAccess
    bool disable_storage8 = false;               // "storage8": storageBuffer8BitAccess
    bool disable_integer_dot_product = false;    // "dot"
    bool disable_subgroup_size_control = false;  // "subgroup_size"
    bool disable_external_memory_host = false;   // "host_memory": no host-pointer import
    bool disable_buffer_device_address = false;  // "bda"
    bool disable_transfer_queue = false;         // "transfer_queue": copies on the compute queue
    bool disable_host_query_reset = false;       // "query_reset": queries reset by commands only
    // A smaller storage-binding limit than the device's (FERRY_MAX_BINDING=64M), so the
    // paths for devices that bind little (expert pools capped, weights split) run anywhere.
    std::optional<std::uint64_t> max_binding;
    // The pipeline cache's folder (vk/pipeline_cache.h); unset: default_pipeline_cache_dir().
    std::optional<std::filesystem::path> pipeline_cache_dir;
    bool no_pipeline_cache = false;  // FERRY_NO_PIPELINE_CACHE=1: the cache stays in memory

    // Reads FERRY_DISABLE, a comma-separated list of the names above ("fp16,int8"), and
    // FERRY_MAX_BINDING (a byte size) and FERRY_NO_PIPELINE_CACHE (0 or 1); throws
    // ferry::Error for an unknown name or a bad value.
    void apply_env();
    void disable(std::string_view name);
};

class Device {
public:
    // Chooses the device (options.index or the default), creates it with the probed
    // features minus the disabled ones. Throws NoVulkanError when there is no device.
    Device(const Instance& instance, const DeviceOptions& options);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    VkDevice handle() const { return device_; }
    VkPhysicalDevice physical() const { return info_.handle; }
    const Instance& instance() const { return instance_; }
    // As probed (what the hardware has).
    const DeviceInfo& info() const { return info_; }
    // Enabled: probed minus DeviceOptions::disable_*. Shader variant choice reads this.
    const DeviceFeatures& features() const { return enabled_; }
    const DeviceLimits& limits() const { return info_.limits; }
    const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_; }
    // VK_EXT_external_memory_host is enabled: vk::Buffer::import_host() can wrap host
    // memory (pointer and size multiples of host_import_alignment()) for copies to VRAM.
    bool supports_host_import() const { return enabled_.external_memory_host; }
    std::uint64_t host_import_alignment() const { return info_.limits.min_imported_host_pointer_alignment; }

    Queue& compute_queue() { return *compute_; }
    // The copy engine's queue where the device has one, else a second compute-family
    // queue, else the compute queue itself.
    Queue& transfer_queue() { return transfer_ ? *transfer_ : *compute_; }
    bool has_separate_transfer_queue() const { return transfer_ != nullptr; }
    // Distinct queue families in use: buffers are shared between them (CONCURRENT).
    std::span<const std::uint32_t> queue_families() const { return families_; }

    VramAccountant& accountant() { return *accountant_; }
    // Loaded at creation, saved at destruction (and whenever a caller calls save()).
    PipelineCache& pipeline_cache() { return *pipeline_cache_; }

    // Waits until both queues are idle, then destroys retired semaphores.
    void wait_idle();
    // Destroys `semaphore` once the queues are next idle. Drivers may still touch a
    // semaphore shortly after signalling it (lavapipe's submit thread does; destroying it
    // at once crashed one run in thirty), so timelines are never destroyed right away.
    void retire(VkSemaphore semaphore);

private:
    void destroy_retired_locked();

    const Instance& instance_;
    DeviceInfo info_;
    DeviceFeatures enabled_;
    VkPhysicalDeviceMemoryProperties memory_{};
    VkDevice device_ = VK_NULL_HANDLE;
    std::unique_ptr<Queue> compute_;
    std::unique_ptr<Queue> transfer_;  // null: transfers go to compute_
    std::vector<std::uint32_t> families_;
    std::unique_ptr<VramAccountant> accountant_;
    std::unique_ptr<PipelineCache> pipeline_cache_;
    std::mutex retired_mutex_;
    std::vector<VkSemaphore> retired_;
};

}  // namespace ferry::vk
