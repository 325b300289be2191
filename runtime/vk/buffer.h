#pragma once
// A VkBuffer with its own memory. Device-local memory (any memory type with the
// DEVICE_LOCAL property, host-visible VRAM included) is reserved from the device's
// VramAccountant before it is allocated and released when the buffer is destroyed.
//
// One vkAllocateMemory per buffer for now; sub-allocating from large blocks (fewer
// allocations, under maxMemoryAllocationCount) is a later step in offload/'s slot arena.
#include "vk/device.h"
#include "vk/memory.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ferry::vk {

class Buffer {
public:
    Buffer() = default;
    // Throws ferry::Error when the budget refuses it or the driver is out of memory;
    // `name` appears in those messages ("kv cache", "blk.3 expert slots").
    Buffer(Device& device, std::uint64_t size, MemoryKind kind, std::string_view name);
    // A buffer over `size` bytes of existing host memory at `host` (VK_EXT_external_memory_host),
    // so copies from it to VRAM need no staging memcpy. `host` and `size` must be multiples
    // of device.host_import_alignment() and the memory must outlive the buffer. Not counted
    // against the VRAM budget: it is the caller's RAM. kind() is Staging, bytes() is `host`.
    // Throws ferry::Error when the device lacks the extension or the driver refuses.
    static Buffer import_host(Device& device, void* host, std::uint64_t size, std::string_view name);
    ~Buffer();
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    VkBuffer handle() const { return buffer_; }
    std::uint64_t size() const { return size_; }
    MemoryKind kind() const { return kind_; }
    const std::string& name() const { return name_; }
    // Bytes this buffer holds against the VRAM budget (0 for host memory).
    std::uint64_t counted_bytes() const { return counted_; }
    explicit operator bool() const { return buffer_ != VK_NULL_HANDLE; }
    // Properties of the memory type it got (DEVICE_LOCAL, HOST_VISIBLE, ...).
    VkMemoryPropertyFlags memory_flags() const { return memory_flags_; }
    // Made by import_host(): the memory belongs to the caller.
    bool imported() const { return imported_; }

    // Persistently mapped bytes of a Staging or Readback buffer (empty for DeviceLocal
    // unless its memory happens to be host-visible, which callers must not rely on).
    std::span<std::byte> bytes() const { return {static_cast<std::byte*>(mapped_), mapped_ ? size_ : 0}; }
    template <class T>
    std::span<T> as() const {
        return {static_cast<T*>(mapped_), mapped_ ? size_ / sizeof(T) : 0};
    }
    // Makes device writes visible to host reads on non-coherent memory (readback on
    // some drivers); a no-op on coherent memory. Call after the download finished.
    void invalidate() const;

private:
    void destroy() noexcept;
    void create_buffer(const void* pnext);

    Device* device_ = nullptr;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    void* mapped_ = nullptr;
    std::uint64_t size_ = 0;
    std::uint64_t counted_ = 0;
    VkMemoryPropertyFlags memory_flags_ = 0;
    bool coherent_ = true;
    bool imported_ = false;
    MemoryKind kind_ = MemoryKind::DeviceLocal;
    std::string name_;
};

}  // namespace ferry::vk
