#include "vk/device.h"

#include "base/error.h"
#include "base/units.h"
#include "vk/device_choice.h"
#include "vk/feature_chain.h"

#include <cstdlib>
#include <string>

namespace ferry::vk {
namespace {

struct Switch {
    std::string_view name;
    bool DeviceOptions::*flag;
};
constexpr Switch kSwitches[] = {
    {"fp16", &DeviceOptions::disable_fp16},
    {"int8", &DeviceOptions::disable_int8},
    {"storage16", &DeviceOptions::disable_storage16},
    {"storage8", &DeviceOptions::disable_storage8},
    {"dot", &DeviceOptions::disable_integer_dot_product},
    {"subgroup_size", &DeviceOptions::disable_subgroup_size_control},
    {"host_memory", &DeviceOptions::disable_external_memory_host},
    {"bda", &DeviceOptions::disable_buffer_device_address},
    {"transfer_queue", &DeviceOptions::disable_transfer_queue},
    {"query_reset", &DeviceOptions::disable_host_query_reset},
};

DeviceFeatures enabled_features(const DeviceFeatures& f, const DeviceOptions& o) {
    DeviceFeatures e = f;
    e.shader_float16 = f.shader_float16 && !o.disable_fp16;
    e.shader_int8 = f.shader_int8 && !o.disable_int8;
    e.storage_buffer_16bit = f.storage_buffer_16bit && !o.disable_storage16;
    e.storage_buffer_8bit = f.storage_buffer_8bit && !o.disable_storage8;
    e.integer_dot_product = f.integer_dot_product && !o.disable_integer_dot_product;
    e.integer_dot_product_4x8_accelerated = e.integer_dot_product && f.integer_dot_product_4x8_accelerated;
    e.subgroup_size_control = f.subgroup_size_control && !o.disable_subgroup_size_control;
    e.compute_full_subgroups = e.subgroup_size_control && f.compute_full_subgroups;
    e.external_memory_host = f.external_memory_host && !o.disable_external_memory_host;
    e.buffer_device_address = f.buffer_device_address && !o.disable_buffer_device_address;
    e.host_query_reset = f.host_query_reset && !o.disable_host_query_reset;
    return e;
}

VkQueueFlags family_flags(VkPhysicalDevice pd, std::uint32_t family) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, families.data());
    return families.at(family).queueFlags;
}

}  // namespace

void DeviceOptions::disable(std::string_view name) {
    for (const Switch& s : kSwitches)
        if (s.name == name) {
            this->*s.flag = true;
            return;
        }
    std::string known;
    for (const Switch& s : kSwitches) {
        if (!known.empty()) known += ',';
        known += s.name;
    }
    fail("FERRY_DISABLE: unknown feature '{}'; known: {}", name, known);
}

void DeviceOptions::apply_env() {
    if (const char* size = std::getenv("FERRY_MAX_BINDING")) {
        max_binding = parse_byte_size(size);
        if (*max_binding < 4096) fail("FERRY_MAX_BINDING={}: give at least 4K", size);
    }
    if (const char* off = std::getenv("FERRY_NO_PIPELINE_CACHE"); off && off[0] != '\0') {
        const std::string_view v(off);
        if (v != "0" && v != "1") fail("FERRY_NO_PIPELINE_CACHE={}: give 1 (no cache on disk) or 0", v);
        no_pipeline_cache = v == "1";
    }
    const char* env = std::getenv("FERRY_DISABLE");
    if (!env) return;
    std::string_view list(env);
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        if (!name.empty()) disable(name);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
}

Device::Device(const Instance& instance, const DeviceOptions& options) : instance_(instance) {
    const std::vector<DeviceInfo> devices = list_devices(instance);
    info_ = choose_device(devices, options.index);
    enabled_ = enabled_features(info_.features, options);
    if (options.max_binding)
        info_.limits.max_storage_buffer_range =
            std::min(info_.limits.max_storage_buffer_range, *options.max_binding);
    vkGetPhysicalDeviceMemoryProperties(info_.handle, &memory_);

    const std::uint64_t budget = options.vram_budget.value_or(default_vram_budget(info_));
    if (budget > info_.device_local_bytes)
        fail("--vram-budget {} is more than the {} of device-local memory {} has; give at most {}",
             format_bytes(budget), format_bytes(info_.device_local_bytes), info_.name,
             format_bytes(default_vram_budget(info_)));
    accountant_ = std::make_unique<VramAccountant>(budget);

    // Queues: compute (family cf, index 0); transfer on the copy engine, or a second queue
    // of the compute family (still runs concurrently), or none.
    const std::uint32_t cf = *info_.compute_family;
    std::optional<std::uint32_t> tf;
    std::uint32_t t_index = 0;
    if (!options.disable_transfer_queue) {
        if (info_.transfer_family) {
            tf = info_.transfer_family;
        } else if (info_.compute_queue_count >= 2) {
            tf = cf;
            t_index = 1;
        }
    }
    const float priorities[2] = {1.0f, 1.0f};
    std::vector<VkDeviceQueueCreateInfo> queues;
    VkDeviceQueueCreateInfo q{};
    q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    q.queueFamilyIndex = cf;
    q.queueCount = (tf && *tf == cf) ? 2 : 1;
    q.pQueuePriorities = priorities;
    queues.push_back(q);
    if (tf && *tf != cf) {
        q.queueFamilyIndex = *tf;
        q.queueCount = 1;
        queues.push_back(q);
    }

    // Features: exactly the enabled optional ones plus timeline semaphores.
    const bool v13 = info_.api_version >= VK_API_VERSION_1_3;
    std::vector<const char*> extensions;
    const bool dot_ext = !v13 && enabled_.integer_dot_product,
               size_ext = !v13 && enabled_.subgroup_size_control;
    FeatureChain chain(v13, dot_ext, size_ext);
    chain.v11.storageBuffer16BitAccess = enabled_.storage_buffer_16bit;
    chain.v12.shaderFloat16 = enabled_.shader_float16;
    chain.v12.shaderInt8 = enabled_.shader_int8;
    chain.v12.storageBuffer8BitAccess = enabled_.storage_buffer_8bit;
    chain.v12.bufferDeviceAddress = enabled_.buffer_device_address;
    chain.v12.timelineSemaphore = VK_TRUE;
    chain.v12.hostQueryReset = enabled_.host_query_reset;  // only where probed: vk::Timestamps
    chain.v13.shaderIntegerDotProduct = enabled_.integer_dot_product;
    chain.v13.subgroupSizeControl = enabled_.subgroup_size_control;
    chain.v13.computeFullSubgroups = enabled_.compute_full_subgroups;
    chain.dot.shaderIntegerDotProduct = VK_TRUE;
    chain.size.subgroupSizeControl = VK_TRUE;
    chain.size.computeFullSubgroups = enabled_.compute_full_subgroups;
    if (dot_ext) extensions.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    if (size_ext) extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    if (enabled_.memory_budget) extensions.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    if (enabled_.external_memory_host) extensions.push_back(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);

    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.pNext = chain.head();
    info.queueCreateInfoCount = static_cast<std::uint32_t>(queues.size());
    info.pQueueCreateInfos = queues.data();
    info.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    check(vkCreateDevice(info_.handle, &info, nullptr, &device_),
          fmt::format("vkCreateDevice ({})", info_.name));

    VkQueue handle = VK_NULL_HANDLE;
    vkGetDeviceQueue(device_, cf, 0, &handle);
    compute_ = std::make_unique<Queue>(device_, handle, cf, family_flags(info_.handle, cf));
    families_.push_back(cf);
    if (tf) {
        vkGetDeviceQueue(device_, *tf, t_index, &handle);
        transfer_ = std::make_unique<Queue>(device_, handle, *tf, family_flags(info_.handle, *tf));
        if (*tf != cf) families_.push_back(*tf);
    }

    std::filesystem::path cache_file;
    if (!options.no_pipeline_cache) {
        const std::filesystem::path dir = options.pipeline_cache_dir.value_or(default_pipeline_cache_dir());
        if (!dir.empty()) cache_file = dir / pipeline_cache_file_name(info_);
    }
    try {
        pipeline_cache_ = std::make_unique<PipelineCache>(device_, info_, std::move(cache_file));
    } catch (...) {
        vkDestroyDevice(device_, nullptr);
        throw;
    }
}

Device::~Device() {
    if (device_ == VK_NULL_HANDLE) return;
    vkDeviceWaitIdle(device_);
    destroy_retired_locked();  // no other user is left
    compute_.reset();
    transfer_.reset();
    pipeline_cache_->save();  // one stderr line if it cannot; never throws
    pipeline_cache_.reset();
    vkDestroyDevice(device_, nullptr);
}

void Device::wait_idle() {
    std::lock_guard lock(retired_mutex_);
    // Per queue, under each queue's lock: vkDeviceWaitIdle would need every queue locked.
    compute_->wait_idle();
    if (transfer_) transfer_->wait_idle();
    destroy_retired_locked();
}

void Device::retire(VkSemaphore semaphore) {
    // Enough to keep few semaphores alive, rare enough that the idle wait does not matter:
    // long-lived timelines are the rule, and the per-upload helpers wait anyway.
    constexpr std::size_t kMaxRetired = 64;
    std::lock_guard lock(retired_mutex_);
    retired_.push_back(semaphore);
    if (retired_.size() < kMaxRetired) return;
    compute_->wait_idle();
    if (transfer_) transfer_->wait_idle();
    destroy_retired_locked();
}

void Device::destroy_retired_locked() {
    for (VkSemaphore s : retired_) vkDestroySemaphore(device_, s, nullptr);
    retired_.clear();
}

}  // namespace ferry::vk
