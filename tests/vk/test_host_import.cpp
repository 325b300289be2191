// Buffers over existing host memory (VK_EXT_external_memory_host): a copy from one to
// VRAM reads the host bytes directly, and the budget does not count them.
#include "support/vulkan_test_device.h"
#include "vk/barrier.h"
#include "vk/command.h"
#include "vk/transfer.h"

#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace ferry;

namespace {

// Page-aligned anonymous memory, as the expert store's --no-mmap tier allocates it.
struct AnonymousPages {
    explicit AnonymousPages(std::size_t n) : size(n) {
        void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        data = static_cast<std::byte*>(p);
    }
    ~AnonymousPages() { ::munmap(data, size); }
    std::byte* data;
    std::size_t size;
};

}  // namespace

TEST_CASE("a buffer imported from host memory copies to VRAM without staging") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    if (!device.supports_host_import()) {
        MESSAGE("SKIPPED: " << device.info().name << " cannot import host memory");
        return;
    }
    const std::uint64_t align = device.host_import_alignment();
    REQUIRE(align > 0);
    REQUIRE(4096 % align == 0);  // lavapipe and the big vendors import at page granularity
    const std::size_t size = 3 * 65536;
    AnonymousPages host(size);
    for (std::size_t i = 0; i < size; ++i) host.data[i] = static_cast<std::byte>((i * 131 + 7) % 251);

    const std::uint64_t used_before = device.accountant().current();
    vk::Buffer imported = vk::Buffer::import_host(device, host.data, size, "imported");
    CHECK(imported.imported());
    CHECK(imported.counted_bytes() == 0);
    CHECK(device.accountant().current() == used_before);
    CHECK(imported.bytes().data() == host.data);

    // A slice from the middle, as an expert upload copies one expert out of a tensor.
    const std::uint64_t offset = 65536 + 4096, bytes = 40000;
    vk::Buffer vram(device, bytes, vk::MemoryKind::DeviceLocal, "vram");
    vk::CommandBuffer cmd(device, vk::QueueKind::Transfer);
    cmd.begin();
    cmd.copy(imported, vram, {offset, 0, bytes});
    cmd.submit();
    cmd.wait();
    std::vector<std::byte> back(bytes);
    vk::download(device, vram, std::span<std::byte>(back));
    CHECK(std::memcmp(back.data(), host.data + offset, bytes) == 0);

    // Host writes after the import are what the next copy reads: no copy was taken.
    std::memset(host.data + offset, 0x5a, 16);
    cmd.begin();
    cmd.copy(imported, vram, {offset, 0, bytes});
    cmd.submit();
    cmd.wait();
    vk::download(device, vram, std::span<std::byte>(back));
    CHECK(back[0] == std::byte{0x5a});
    CHECK(std::memcmp(back.data(), host.data + offset, bytes) == 0);
}

TEST_CASE("host import refuses misaligned memory and a device with the feature disabled") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& shared = gpu.device();
    AnonymousPages host(65536);
    if (shared.supports_host_import() && shared.host_import_alignment() > 1) {
        CHECK_THROWS_WITH(vk::Buffer::import_host(shared, host.data + 1, 4096, "odd"),
                          doctest::Contains("not aligned"));
        CHECK_THROWS_WITH(
            vk::Buffer::import_host(shared, host.data, shared.host_import_alignment() + 1, "odd"),
            doctest::Contains("not aligned"));
    }
    vk::DeviceOptions options;
    options.apply_env();
    options.disable("host_memory");
    vk::Device device(gpu.instance(), options);
    CHECK_FALSE(device.supports_host_import());
    CHECK_THROWS_WITH(vk::Buffer::import_host(device, host.data, 4096, "x"),
                      doctest::Contains("cannot import host memory"));
}
