#pragma once
// The host tier of the expert store: where a routed expert's bytes are when it is not in a
// VRAM slot (DESIGN.md "Why it can win"; issue #7 tiers VRAM slot <- host RAM <- disk).
//
//   Mmap    the mapped file as is: the OS page cache is the RAM tier, and a machine whose
//           RAM is smaller than the model still runs, paging experts in from disk.
//           will_need() reads predicted experts ahead on a few threads.
//   Mlock   the mapping's expert ranges locked in RAM (read once at start, never evicted).
//   NoMmap  the expert tensors read into page-aligned memory of ferry's own; imported as a
//           Vulkan buffer where the driver allows, so uploads copy from it with no memcpy.
//
// An expert's slice of one part (offload/expert_layout.h) is a byte range of the file.
#include "gguf/reader.h"
#include "offload/expert_layout.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::offload {

class ReadAheadPool;

enum class HostTier { Mmap, Mlock, NoMmap };
std::string_view host_tier_name(HostTier tier);  // "mmap", "mlock", "no-mmap"

struct ExpertSourceOptions {
    HostTier tier = HostTier::Mmap;
    unsigned read_ahead_threads = 2;  // Mmap only; 0 turns read-ahead off
};

struct ExpertSourceStats {
    std::uint64_t read_aheads = 0;   // will_need() slices read ahead (done, not queued)
    std::uint64_t major_faults = 0;  // page faults that went to disk during copy_to()
    double fault_stall_s = 0;        // time of the copies that had such faults
    std::uint64_t bytes_read = 0;    // read from the file: NoMmap load plus read-ahead
};

// (bytes done, bytes total) while Mlock or NoMmap brings the experts into RAM.
using HostTierProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

class ExpertSource {
public:
    // `file` must outlive the source. `device` may be null (no import). Throws
    // ferry::Error naming the file when an expert tensor is missing, or, for Mlock, when
    // the memory-lock limit is too low (with what was asked and `ulimit -l`).
    ExpertSource(const gguf::File& file, const ExpertLayout& layout, vk::Device* device,
                 const ExpertSourceOptions& options = {}, const HostTierProgress& progress = {});
    ~ExpertSource();
    ExpertSource(const ExpertSource&) = delete;
    ExpertSource& operator=(const ExpertSource&) = delete;

    HostTier tier() const { return tier_; }
    std::uint32_t n_layers() const { return n_layers_; }
    std::uint32_t n_experts() const { return n_experts_; }
    std::uint32_t parts(std::uint32_t layer) const;  // weight matrices of one expert
    // One expert's bytes of this layer's tensor (types may differ per layer).
    std::uint64_t expert_bytes(std::uint32_t layer, std::uint32_t part) const;

    // The host copy of one expert's slice. Mmap: reading it may fault on the disk;
    // prefer copy_to(), which measures that.
    std::span<const std::byte> bytes(std::uint32_t layer, std::uint32_t part, std::uint32_t expert) const;
    // Where a transfer can copy the slice from directly: an imported buffer and the byte
    // offset in it (NoMmap with host import); nullopt otherwise (memcpy to staging).
    std::optional<std::pair<const vk::Buffer*, std::uint64_t>> device_visible(std::uint32_t layer,
                                                                              std::uint32_t part,
                                                                              std::uint32_t expert) const;
    // True when device_visible() answers for every slice.
    bool imported() const { return !imports_.empty(); }

    // Starts reading an expert's three slices into the page cache (Mmap); returns at once.
    // A no-op for Mlock and NoMmap, whose bytes are in RAM already.
    void will_need(std::uint32_t layer, std::uint32_t expert);
    // Waits until the read-ahead queued so far is done (tests; a clean shutdown).
    void drain_read_ahead();
    // Copies one slice into dst (dst.size() == expert_bytes), counting the major page
    // faults of this thread meanwhile; their copy time is the stall that read-ahead hides.
    void copy_to(std::uint32_t layer, std::uint32_t part, std::uint32_t expert, std::span<std::byte> dst);

    ExpertSourceStats stats() const;

private:
    struct Slices {  // one part of one layer
        std::uint32_t layer = 0;
        std::uint64_t expert_bytes = 0;
        std::vector<std::uint64_t> file_offsets;  // [n_experts]
        std::vector<const std::byte*> host;       // [n_experts]: in the mapping, or in owned_
        std::size_t import = 0;                   // NoMmap: index in imports_ (one per layer)
        std::uint64_t import_offset = 0;          // of expert 0 in that buffer (experts back to back)
    };
    struct Owned;  // NoMmap memory, freed on destruction

    const Slices& slices(std::uint32_t layer, std::uint32_t part) const;
    void read_range(std::uint64_t offset, const std::byte* mapped, std::uint64_t bytes, std::byte* dst);
    void lock_in_ram(const HostTierProgress& progress);
    void read_into_ram(vk::Device* device, const HostTierProgress& progress);

    const gguf::File& file_;
    HostTier tier_;
    std::uint32_t n_layers_ = 0;
    std::uint32_t n_experts_ = 0;
    std::vector<Slices> slices_;              // layer by layer, part by part
    std::vector<std::uint32_t> parts_;        // [n_layers]
    std::vector<std::uint32_t> first_slice_;  // [n_layers + 1]: index of the layer's first part
    int fd_ = -1;                             // the file, for pread; -1 for a model in memory
    std::vector<std::pair<const std::byte*, std::size_t>> locked_;  // Mlock: page ranges
    std::vector<std::unique_ptr<Owned>> owned_;                     // NoMmap: one per layer
    std::vector<vk::Buffer> imports_;                               // NoMmap: one per layer
    std::unique_ptr<ReadAheadPool> read_ahead_;
    std::uint64_t bytes_loaded_ = 0;  // NoMmap pread total
    std::atomic<std::uint64_t> major_faults_{0};
    std::atomic<std::uint64_t> stall_ns_{0};
};

}  // namespace ferry::offload
