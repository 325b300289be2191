#include "vk/buffer.h"

#include "base/error.h"
#include "base/units.h"

#include <bit>
#include <optional>
#include <utility>

namespace ferry::vk {

Buffer::Buffer(Device& device, std::uint64_t size, MemoryKind kind, std::string_view name)
    : device_(&device), size_(size), kind_(kind), name_(name) {
    if (size == 0) fail("buffer '{}': size 0 (an empty tensor or a context of 0 tokens?)", name);
    const VkDevice dev = device.handle();
    create_buffer(nullptr);

    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev, buffer_, &req);
    const auto type = find_memory_type(device.memory_properties(), req.memoryTypeBits, kind);
    if (!type) {
        destroy();
        fail("buffer '{}': the device has no {} memory type for it", name, memory_kind_name(kind));
    }
    const VkMemoryPropertyFlags flags = device.memory_properties().memoryTypes[*type].propertyFlags;
    if (req.size > device.limits().max_memory_allocation && device.limits().max_memory_allocation > 0) {
        destroy();
        fail("buffer '{}': {} is more than the {} the driver allows in one allocation", name,
             format_bytes(req.size), format_bytes(device.limits().max_memory_allocation));
    }
    if (flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) {
        try {
            device.accountant().reserve(req.size, fmt::format("buffer '{}'", name_));
        } catch (...) {
            destroy();
            throw;
        }
        counted_ = req.size;
    }

    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = *type;
    const VkResult r = vkAllocateMemory(dev, &alloc, nullptr, &memory_);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
        destroy();
        fail(
            "buffer '{}': the driver is out of {} memory for {} ({}); other programs may be "
            "using the card: lower --vram-budget or --ctx",
            name_, r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", format_bytes(req.size),
            result_name(r));
    }
    if (r != VK_SUCCESS) {
        destroy();
        check(r, "vkAllocateMemory");
    }
    try {
        check(vkBindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory");
        if (kind != MemoryKind::DeviceLocal)
            check(vkMapMemory(dev, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory");
    } catch (...) {
        destroy();
        throw;
    }
    memory_flags_ = flags;
    coherent_ = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
}

void Buffer::create_buffer(const void* pnext) {
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.pNext = pnext;
    info.size = size_;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    // Shared by the compute and transfer families without ownership transfers; for
    // buffers (no compression) this costs nothing on current drivers.
    const auto families = device_->queue_families();
    if (families.size() > 1) {
        info.sharingMode = VK_SHARING_MODE_CONCURRENT;
        info.queueFamilyIndexCount = static_cast<std::uint32_t>(families.size());
        info.pQueueFamilyIndices = families.data();
    } else {
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    }
    check(vkCreateBuffer(device_->handle(), &info, nullptr, &buffer_),
          fmt::format("vkCreateBuffer ({})", name_));
}

Buffer Buffer::import_host(Device& device, void* host, std::uint64_t size, std::string_view name) {
    if (!device.supports_host_import())
        fail(
            "buffer '{}': {} cannot import host memory (no VK_EXT_external_memory_host, or "
            "FERRY_DISABLE=host_memory)",
            name, device.info().name);
    const std::uint64_t align = device.host_import_alignment();
    if (size == 0 || reinterpret_cast<std::uintptr_t>(host) % align || size % align)
        fail("buffer '{}': host memory at {} of {} bytes is not aligned to the {} bytes {} imports", name,
             host, size, align, device.info().name);
    constexpr auto kHandle = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    const VkDevice dev = device.handle();
    VkMemoryHostPointerPropertiesEXT host_props{};
    host_props.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT;
    check(vkGetMemoryHostPointerPropertiesEXT(dev, kHandle, host, &host_props),
          fmt::format("vkGetMemoryHostPointerPropertiesEXT ({})", name));

    Buffer b;
    b.device_ = &device;
    b.size_ = size;
    b.kind_ = MemoryKind::Staging;
    b.name_ = name;
    b.imported_ = true;
    VkExternalMemoryBufferCreateInfo external{};
    external.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
    external.handleTypes = kHandle;
    b.create_buffer(&external);

    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev, b.buffer_, &req);
    const std::uint32_t bits = req.memoryTypeBits & host_props.memoryTypeBits;
    // Host-cached and coherent, as for readback: the CPU reads this memory too. Drivers
    // need not make imported types host-visible, so any allowed type is the fallback.
    std::optional<std::uint32_t> type =
        find_memory_type(device.memory_properties(), bits, MemoryKind::Readback);
    if (!type && bits) type = static_cast<std::uint32_t>(std::countr_zero(bits));
    if (!type || req.size > size)
        fail("buffer '{}': {} offers no memory type to import {} of host memory into", name,
             device.info().name, format_bytes(size));

    VkImportMemoryHostPointerInfoEXT import{};
    import.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
    import.handleType = kHandle;
    import.pHostPointer = host;
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.pNext = &import;
    alloc.allocationSize = size;
    alloc.memoryTypeIndex = *type;
    check(vkAllocateMemory(dev, &alloc, nullptr, &b.memory_),
          fmt::format("vkAllocateMemory importing {} of host memory ({})", format_bytes(size), name));
    check(vkBindBufferMemory(dev, b.buffer_, b.memory_, 0), "vkBindBufferMemory");
    b.mapped_ = host;
    b.memory_flags_ = device.memory_properties().memoryTypes[*type].propertyFlags;
    b.coherent_ = (b.memory_flags_ & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    return b;
}

Buffer::~Buffer() {
    destroy();
}

Buffer::Buffer(Buffer&& other) noexcept {
    *this = std::move(other);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
    if (this != &other) {
        destroy();
        device_ = std::exchange(other.device_, nullptr);
        buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
        memory_ = std::exchange(other.memory_, VK_NULL_HANDLE);
        mapped_ = std::exchange(other.mapped_, nullptr);
        size_ = std::exchange(other.size_, 0);
        counted_ = std::exchange(other.counted_, 0);
        memory_flags_ = other.memory_flags_;
        coherent_ = other.coherent_;
        imported_ = other.imported_;
        kind_ = other.kind_;
        name_ = std::move(other.name_);
    }
    return *this;
}

void Buffer::invalidate() const {
    if (coherent_ || !mapped_) return;
    VkMappedMemoryRange range{};
    range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
    range.memory = memory_;
    range.offset = 0;
    range.size = VK_WHOLE_SIZE;
    check(vkInvalidateMappedMemoryRanges(device_->handle(), 1, &range), "vkInvalidateMappedMemoryRanges");
}

void Buffer::destroy() noexcept {
    if (!device_) return;
    const VkDevice dev = device_->handle();
    // vkFreeMemory unmaps implicitly.
    if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(dev, buffer_, nullptr);
    if (memory_ != VK_NULL_HANDLE) vkFreeMemory(dev, memory_, nullptr);
    if (counted_) device_->accountant().release(counted_);
    buffer_ = VK_NULL_HANDLE;
    memory_ = VK_NULL_HANDLE;
    mapped_ = nullptr;
    counted_ = 0;
    device_ = nullptr;
}

}  // namespace ferry::vk
