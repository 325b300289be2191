#include "vk/timestamps.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ferry::vk {
namespace {

Queue& queue_of(Device& device, QueueKind kind) {
    return kind == QueueKind::Compute ? device.compute_queue() : device.transfer_queue();
}

std::uint32_t valid_bits(const Device& device, std::uint32_t family) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(device.physical(), &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(device.physical(), &count, families.data());
    return family < count ? families[family].timestampValidBits : 0;
}

double device_period_ns(const Device& device) {
    VkPhysicalDeviceProperties p{};
    vkGetPhysicalDeviceProperties(device.physical(), &p);
    return p.limits.timestampPeriod;
}

[[noreturn]] void misuse(const std::string& what) {
    throw std::logic_error("vk::Timestamps: " + what);
}

}  // namespace

bool Timestamps::supported(Device& device, QueueKind kind) {
    const Queue& queue = queue_of(device, kind);
    const double period = device_period_ns(device);
    return valid_bits(device, queue.family()) > 0 && std::isfinite(period) && period > 0 &&
           (device.features().host_query_reset || queue.supports_compute());
}

Timestamps::Timestamps(Device& device, QueueKind kind, std::uint32_t count)
    : device_(device), queue_(queue_of(device, kind)), count_(count) {
    if (!supported(device, kind)) misuse("timestamps are not supported on this queue; check supported()");
    if (count == 0) misuse("a pool of 0 queries");
    period_ns_ = device_period_ns(device);
    const std::uint32_t bits = valid_bits(device, queue_.family());
    mask_ = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    host_reset_ = device.features().host_query_reset;
    VkQueryPoolCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = count;
    check(vkCreateQueryPool(device.handle(), &info, nullptr, &pool_), "vkCreateQueryPool (timestamps)");
}

Timestamps::~Timestamps() {
    vkDestroyQueryPool(device_.handle(), pool_, nullptr);
}

void Timestamps::reset(CommandBuffer& cmd, std::uint32_t first, std::uint32_t count) {
    if (first + count > count_ || count == 0) misuse("reset outside the pool");
    if (&cmd.queue() != &queue_) misuse("reset in a command buffer of another queue");
    if (host_reset_)
        vkResetQueryPool(device_.handle(), pool_, first, count);
    else
        vkCmdResetQueryPool(cmd.handle(), pool_, first, count);  // supported(): a compute queue
}

void Timestamps::write(CommandBuffer& cmd, std::uint32_t query, VkPipelineStageFlagBits stage) {
    if (query >= count_) misuse("write outside the pool");
    if (&cmd.queue() != &queue_) misuse("write in a command buffer of another queue");
    vkCmdWriteTimestamp(cmd.handle(), stage, pool_, query);
}

std::optional<std::vector<std::uint64_t>> Timestamps::read(std::uint32_t first, std::uint32_t count) const {
    if (first + count > count_ || count == 0) misuse("read outside the pool");
    // Per query: the value, then its availability (non-zero once written).
    std::vector<std::uint64_t> raw(2 * std::size_t(count));
    const VkResult r = vkGetQueryPoolResults(
        device_.handle(), pool_, first, count, raw.size() * sizeof(std::uint64_t), raw.data(),
        2 * sizeof(std::uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    if (r != VK_NOT_READY) check(r, "vkGetQueryPoolResults (timestamps)");
    std::vector<std::uint64_t> ticks(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        if (raw[2 * i + 1] == 0) return std::nullopt;
        ticks[i] = raw[2 * i] & mask_;
    }
    return ticks;
}

std::optional<double> Timestamps::seconds(std::uint32_t from, std::uint32_t to) const {
    const auto a = read(from, 1), b = read(to, 1);
    if (!a || !b) return std::nullopt;
    // Modulo the valid bits: a counter that wrapped between the two still subtracts right.
    return to_seconds(((*b)[0] - (*a)[0]) & mask_);
}

}  // namespace ferry::vk
