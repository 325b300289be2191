#include "vk/pipeline_cache.h"

#include "base/error.h"
#include "shaders/embedded_spirv.h"

#include <fmt/format.h>

#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

namespace ferry::vk {
namespace {

constexpr char kMagic[8] = {'f', 'e', 'r', 'r', 'y', 'p', 'c', '\0'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kPrefixBytes = 32;        // magic, version, reserved, data size, data hash
constexpr std::size_t kVulkanHeaderBytes = 32;  // sizeof(VkPipelineCacheHeaderVersionOne)
// No driver's cache for ferry's few hundred variants comes near this; a bigger file is
// not ours, and reading it would only cost memory.
constexpr std::uint64_t kMaxFileBytes = 256ull << 20;

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

std::uint64_t fnv1a(std::span<const std::byte> bytes, std::uint64_t h = kFnvOffset) {
    for (std::byte b : bytes) h = (h ^ std::uint64_t(b)) * kFnvPrime;
    return h;
}

// The Vulkan header and ferry's prefix are little-endian byte streams (Vulkan spec,
// "Pipeline Cache Header"), whatever the host's byte order.
std::uint32_t read_u32(const std::byte* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}
std::uint64_t read_u64(const std::byte* p) {
    return std::uint64_t(read_u32(p)) | std::uint64_t(read_u32(p + 4)) << 32;
}
void write_u32(std::byte* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
void write_u64(std::byte* p, std::uint64_t v) {
    write_u32(p, std::uint32_t(v));
    write_u32(p + 4, std::uint32_t(v >> 32));
}

// "" when the driver data starts with this device's VkPipelineCacheHeaderVersionOne.
std::string check_vulkan_header(std::span<const std::byte> d, const PipelineCacheIdentity& id) {
    if (d.size() < kVulkanHeaderBytes)
        return fmt::format("its {} bytes of driver data are shorter than a Vulkan pipeline cache header",
                           d.size());
    const std::uint32_t length = read_u32(d.data());
    const std::uint32_t version = read_u32(d.data() + 4);
    const std::uint32_t vendor = read_u32(d.data() + 8);
    const std::uint32_t device = read_u32(d.data() + 12);
    if (length < kVulkanHeaderBytes || length > d.size())
        return fmt::format("Vulkan header length {} is outside 32..{}", length, d.size());
    if (version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
        return fmt::format("Vulkan header version {} is not VK_PIPELINE_CACHE_HEADER_VERSION_ONE", version);
    if (vendor != id.vendor_id || device != id.device_id)
        return fmt::format("made for vendor {:#x} device {:#x}, this is vendor {:#x} device {:#x}", vendor,
                           device, id.vendor_id, id.device_id);
    if (std::memcmp(d.data() + 16, id.uuid.data(), VK_UUID_SIZE) != 0)
        return "made by another driver build (pipelineCacheUUID differs)";
    return {};
}

// The whole file, or why it cannot be read. A missing file is not an error: `missing`.
std::string read_file(const std::filesystem::path& path, std::vector<std::byte>& out, bool& missing) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    missing = st.type() == std::filesystem::file_type::not_found;
    if (missing) return {};
    if (ec) return ec.message();
    if (st.type() != std::filesystem::file_type::regular) return "not a regular file";
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return ec.message();
    if (size > kMaxFileBytes) return fmt::format("{} bytes, more than a pipeline cache can be", size);
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::strerror(errno);
    out.resize(size);
    in.read(reinterpret_cast<char*>(out.data()), std::streamsize(size));
    if (std::size_t(in.gcount()) != size) return "could not read the whole file";
    return {};
}

// Writes `bytes` to `path` through a temporary file in the same folder, so a reader (or
// a second ferry saving at the same time) sees the old file or the new one, never a mix.
std::string write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message());
    std::filesystem::path tmp = path;
    tmp += fmt::format(".tmp{}", ::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno));
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        out.close();
        if (!out) {
            std::filesystem::remove(tmp, ec);
            return fmt::format("cannot write {} (disk full?)", tmp.string());
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        const std::string why = ec.message();
        std::filesystem::remove(tmp, ec);
        return fmt::format("cannot rename {} to it: {}", tmp.string(), why);
    }
    return {};
}

}  // namespace

PipelineCacheIdentity pipeline_cache_identity(const DeviceInfo& info) {
    return {.vendor_id = info.vendor_id, .device_id = info.device_id, .uuid = info.pipeline_cache_uuid};
}

std::vector<std::byte> encode_pipeline_cache_file(std::span<const std::byte> driver_data) {
    std::vector<std::byte> file(kPrefixBytes + driver_data.size());
    std::memcpy(file.data(), kMagic, sizeof kMagic);
    write_u32(file.data() + 8, kFormatVersion);
    write_u32(file.data() + 12, 0);
    write_u64(file.data() + 16, driver_data.size());
    write_u64(file.data() + 24, fnv1a(driver_data));
    if (!driver_data.empty()) std::memcpy(file.data() + kPrefixBytes, driver_data.data(), driver_data.size());
    return file;
}

DecodedPipelineCache decode_pipeline_cache_file(std::span<const std::byte> file,
                                                const PipelineCacheIdentity& identity) {
    if (file.size() < kPrefixBytes)
        return {{},
                fmt::format("truncated: {} bytes, shorter than ferry's {}-byte header", file.size(),
                            kPrefixBytes)};
    if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) return {{}, "not a ferry pipeline cache file"};
    if (const std::uint32_t v = read_u32(file.data() + 8); v != kFormatVersion)
        return {{}, fmt::format("format version {}, this ferry reads {}", v, kFormatVersion)};
    const std::span<const std::byte> data = file.subspan(kPrefixBytes);
    if (const std::uint64_t n = read_u64(file.data() + 16); n != data.size())
        return {{},
                fmt::format("truncated: the header says {} bytes of driver data, the file has {}", n,
                            data.size())};
    if (read_u64(file.data() + 24) != fnv1a(data))
        return {{}, "corrupt: the data does not match its checksum"};
    if (std::string why = check_vulkan_header(data, identity); !why.empty()) return {{}, std::move(why)};
    return {data, {}};
}

std::filesystem::path default_pipeline_cache_dir() {
    // XDG Base Directory spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
        return std::filesystem::path(xdg) / "ferry";
    if (const char* home = std::getenv("HOME"); home && home[0] != '\0')
        return std::filesystem::path(home) / ".cache" / "ferry";
    return {};
}

std::uint64_t embedded_shaders_hash() {
    static const std::uint64_t hash = [] {
        std::uint64_t h = kFnvOffset;
        for (const shaders::Spirv& s : shaders::all()) {
            h = fnv1a(std::as_bytes(std::span(s.name.data(), s.name.size())), h);
            h *= kFnvPrime;  // a 0 byte after the name: "ab"+"c" differs from "a"+"bc"
            h = fnv1a(std::as_bytes(std::span(s.words, s.word_count)), h);
        }
        return h;
    }();
    return hash;
}

std::string pipeline_cache_file_name(const DeviceInfo& info) {
    std::string uuid;
    for (std::uint8_t b : info.pipeline_cache_uuid) uuid += fmt::format("{:02x}", b);
    return fmt::format("pipelines-{:x}-{:x}-{:x}-{}-{:016x}.bin", info.vendor_id, info.device_id,
                       info.driver_version, uuid, embedded_shaders_hash());
}

PipelineCache::PipelineCache(VkDevice device, const DeviceInfo& info, std::filesystem::path path)
    : device_(device), path_(std::move(path)) {
    std::vector<std::byte> file;
    std::span<const std::byte> initial;
    if (!path_.empty()) {
        bool missing = false;
        ignored_ = read_file(path_, file, missing);
        if (ignored_.empty() && !missing) {
            DecodedPipelineCache decoded = decode_pipeline_cache_file(file, pipeline_cache_identity(info));
            initial = decoded.driver_data;
            ignored_ = std::move(decoded.error);
        }
    }
    VkPipelineCacheCreateInfo create{};
    create.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    create.initialDataSize = initial.size();
    create.pInitialData = initial.data();
    VkResult r = vkCreatePipelineCache(device_, &create, nullptr, &cache_);
    if (r != VK_SUCCESS && !initial.empty()) {
        // Drivers should skip data they cannot use, but one that refuses it still gets a cache.
        ignored_ = fmt::format("{} refused it ({})", info.driver_name, result_name(r));
        initial = {};
        create.initialDataSize = 0;
        create.pInitialData = nullptr;
        r = vkCreatePipelineCache(device_, &create, nullptr, &cache_);
    }
    check(r, "vkCreatePipelineCache");
    loaded_bytes_ = initial.size();
    loaded_hash_ = fnv1a(initial);
    file_stale_ = !ignored_.empty();
    if (file_stale_) fmt::print(stderr, "ferry: ignoring pipeline cache {}: {}\n", path_.string(), ignored_);
}

PipelineCache::~PipelineCache() {
    vkDestroyPipelineCache(device_, cache_, nullptr);
}

void PipelineCache::note_built(double seconds) {
    built_.fetch_add(1, std::memory_order_relaxed);
    build_ns_.fetch_add(std::uint64_t(seconds * 1e9), std::memory_order_relaxed);
}

bool PipelineCache::save() {
    const std::uint32_t built = built_.load(std::memory_order_relaxed);
    if (path_.empty() || (built == built_at_save_.load(std::memory_order_relaxed) && !file_stale_))
        return true;
    std::string why;
    try {
        std::vector<std::byte> data;
        VkResult r = VK_INCOMPLETE;
        while (r == VK_INCOMPLETE) {  // the cache may grow between the two calls
            std::size_t size = 0;
            check(vkGetPipelineCacheData(device_, cache_, &size, nullptr), "vkGetPipelineCacheData");
            data.resize(size);
            r = vkGetPipelineCacheData(device_, cache_, &size, data.data());
            data.resize(size);
        }
        check(r, "vkGetPipelineCacheData");
        // A warm run rebuilds what it loaded: the same bytes need not be written again.
        if (file_stale_ || data.size() != loaded_bytes_ || fnv1a(data) != loaded_hash_)
            why = write_file_atomically(path_, encode_pipeline_cache_file(data));
    } catch (const std::exception& e) {  // called from ~Device too: never throws
        why = e.what();
    }
    // Tried once per change either way: a read-only folder is one line, not one per save.
    built_at_save_.store(built, std::memory_order_relaxed);
    file_stale_ = false;
    if (why.empty()) return true;
    fmt::print(stderr, "ferry: cannot save pipeline cache {}: {}\n", path_.string(), why);
    return false;
}

PipelineCacheStatus PipelineCache::status() const {
    return {.path = path_,
            .loaded_bytes = loaded_bytes_,
            .ignored = ignored_,
            .pipelines_built = built_.load(std::memory_order_relaxed),
            .build_seconds = double(build_ns_.load(std::memory_order_relaxed)) * 1e-9};
}

}  // namespace ferry::vk
