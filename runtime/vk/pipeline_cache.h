#pragma once
// The device's VkPipelineCache, kept on disk between runs: compiling every shader variant
// a model uses takes seconds on lavapipe and on some drivers, and is the same work each
// run. One file per device, named by what makes driver data reusable (vendor, device,
// driver version, pipelineCacheUUID) and by a hash of this binary's shaders, in
// $XDG_CACHE_HOME/ferry (else $HOME/.cache/ferry). FERRY_NO_PIPELINE_CACHE=1 turns it off.
//
// A file that cannot be used (unreadable, torn, from another driver) is ignored with one
// line on stderr and replaced at the next save; a cache that cannot be written is one line
// too. Neither is an error: the cache only saves time.
#include "vk/device_info.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace ferry::vk {

// What a VkPipelineCacheHeaderVersionOne must say for the data to be this device's.
struct PipelineCacheIdentity {
    std::uint32_t vendor_id = 0;
    std::uint32_t device_id = 0;
    std::array<std::uint8_t, VK_UUID_SIZE> uuid{};
};
PipelineCacheIdentity pipeline_cache_identity(const DeviceInfo& info);

// The file is ferry's 32-byte prefix (magic, format version, size and FNV-1a hash of the
// driver's data), then the driver's data. The Vulkan header says whose data it is, not
// whether it is whole: a driver handed a torn or bit-flipped blob may crash instead of
// refusing it, so the size and hash are checked before Vulkan sees a byte.
std::vector<std::byte> encode_pipeline_cache_file(std::span<const std::byte> driver_data);

struct DecodedPipelineCache {
    std::span<const std::byte> driver_data;  // inside the file's bytes; empty on error
    std::string error;                       // why the file cannot be used; empty when it can
};
DecodedPipelineCache decode_pipeline_cache_file(std::span<const std::byte> file,
                                                const PipelineCacheIdentity& identity);

// $XDG_CACHE_HOME/ferry, else $HOME/.cache/ferry; empty when neither variable is set.
std::filesystem::path default_pipeline_cache_dir();
// FNV-1a over every embedded shader variant's name and SPIR-V words (computed once).
std::uint64_t embedded_shaders_hash();
// "pipelines-<vendor>-<device>-<driver>-<uuid>-<shaders hash>.bin", hex.
std::string pipeline_cache_file_name(const DeviceInfo& info);

struct PipelineCacheStatus {
    std::filesystem::path path;         // empty: kept in memory only
    std::uint64_t loaded_bytes = 0;     // driver data handed to vkCreatePipelineCache
    std::string ignored;                // why the file on disk was not used; empty if it was or was absent
    std::uint32_t pipelines_built = 0;  // through this cache, since the device was made
    double build_seconds = 0;           // their vkCreateComputePipelines time
};

class PipelineCache {
public:
    // Creates the VkPipelineCache, seeded from `path` when the file there is valid for
    // `info`. An empty path keeps the cache in memory only. Throws ferry::Error only when
    // vkCreatePipelineCache fails with no initial data.
    PipelineCache(VkDevice device, const DeviceInfo& info, std::filesystem::path path);
    ~PipelineCache();  // does not save: Device saves while the device is still alive
    PipelineCache(const PipelineCache&) = delete;
    PipelineCache& operator=(const PipelineCache&) = delete;

    VkPipelineCache handle() const { return cache_; }
    // Called by vk::Pipeline after each vkCreateComputePipelines (any thread).
    void note_built(double seconds);
    // Writes the cache (temp file, then rename: readers never see half a file) when
    // pipelines were built since the load or the last save and the driver's data differs
    // from what was loaded, or the file on disk was ignored. False with one line on stderr when it cannot be
    // written. Not thread-safe against pipelines being built at the same time (Vulkan's data would be a
    // snapshot; the next save writes the rest).
    bool save();
    PipelineCacheStatus status() const;

private:
    VkDevice device_;
    std::filesystem::path path_;
    VkPipelineCache cache_ = VK_NULL_HANDLE;
    std::uint64_t loaded_bytes_ = 0;
    std::uint64_t loaded_hash_ = 0;  // of the driver data loaded: an unchanged cache is not rewritten
    std::string ignored_;
    bool file_stale_ = false;  // the file on disk was ignored: rewrite it even if nothing is new
    std::atomic<std::uint32_t> built_{0};
    std::atomic<std::uint32_t> built_at_save_{0};
    std::atomic<std::uint64_t> build_ns_{0};
};

}  // namespace ferry::vk
