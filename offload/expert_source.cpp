#include "offload/expert_source.h"

#include "base/error.h"
#include "base/units.h"
#include "offload/read_ahead.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ferry::offload {
namespace {

std::uint64_t page_size() {
    return std::uint64_t(::sysconf(_SC_PAGESIZE));
}

std::uint64_t round_up(std::uint64_t n, std::uint64_t align) {
    return (n + align - 1) / align * align;
}

// The file again, for pread: the reader keeps only its mapping. -1 for a model built in
// memory (or a file replaced since it was opened): then the mapping is read instead.
int reopen(const gguf::File& file) {
    const int fd = ::open(file.name().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_size) != file.file_size()) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string limit_text(rlim_t limit) {
    return limit == RLIM_INFINITY ? std::string("unlimited") : format_bytes(limit);
}

std::uint64_t major_faults_of_this_thread() {
    rusage usage{};
    ::getrusage(RUSAGE_THREAD, &usage);
    return std::uint64_t(usage.ru_majflt);
}

}  // namespace

// Page-aligned memory from aligned_alloc (large sizes come straight from mmap).
struct ExpertSource::Owned {
    explicit Owned(std::uint64_t n, std::uint64_t align) : size(n) {
        data = static_cast<std::byte*>(std::aligned_alloc(align, n));
    }
    ~Owned() { std::free(data); }
    std::byte* data = nullptr;
    std::uint64_t size = 0;
};

std::string_view host_tier_name(HostTier tier) {
    switch (tier) {
        case HostTier::Mmap:
            return "mmap";
        case HostTier::Mlock:
            return "mlock";
        case HostTier::NoMmap:
            return "no-mmap";
    }
    return "?";
}

ExpertSource::ExpertSource(const gguf::File& file, const ExpertLayout& layout, vk::Device* device,
                           const ExpertSourceOptions& options, const HostTierProgress& progress)
    : file_(file), tier_(options.tier), n_layers_(layout.n_layers()), n_experts_(layout.n_experts) {
    for (std::uint32_t l = 0; l < n_layers_; ++l) {
        const ExpertLayer& layer = layout.layers[l];
        parts_.push_back(std::uint32_t(layer.parts.size()));
        for (const ExpertPart& p : layer.parts) {
            if (p.file_offsets.size() != n_experts_)
                fail("{}: {} lists {} experts, the model has {}", file.name(), p.name, p.file_offsets.size(),
                     n_experts_);
            Slices s;
            s.layer = l;
            s.expert_bytes = p.expert_bytes;
            s.file_offsets = p.file_offsets;
            for (std::uint64_t off : p.file_offsets) {
                if (off + p.expert_bytes > file.file_size())
                    fail("{}: {} has an expert beyond the end of the file", file.name(), p.name);
                s.host.push_back(file.bytes().data() + off);
            }
            slices_.push_back(std::move(s));
        }
    }
    first_slice_.push_back(0);
    for (std::uint32_t n : parts_) first_slice_.push_back(first_slice_.back() + n);
    fd_ = reopen(file);
    try {
        switch (tier_) {
            case HostTier::Mmap:
                read_ahead_ = std::make_unique<ReadAheadPool>(fd_, file.bytes(), options.read_ahead_threads);
                break;
            case HostTier::Mlock:
                lock_in_ram(progress);
                break;
            case HostTier::NoMmap:
                read_into_ram(device, progress);
                break;
        }
    } catch (...) {
        if (fd_ >= 0) ::close(fd_);
        throw;
    }
}

ExpertSource::~ExpertSource() {
    read_ahead_.reset();  // joins the readers before the file closes
    for (const auto& [start, bytes] : locked_) ::munlock(start, bytes);
    if (fd_ >= 0) ::close(fd_);
}

void ExpertSource::lock_in_ram(const HostTierProgress& progress) {
    // mlock takes whole pages; neighbouring tensors may share one, which is fine (locks
    // do not nest).
    const std::uint64_t page = page_size();
    const std::byte* base = file_.bytes().data();
    std::vector<std::pair<const std::byte*, std::size_t>> ranges;
    std::uint64_t total = 0;
    for (const Slices& s : slices_)
        for (std::uint64_t off : s.file_offsets) {
            const std::uint64_t start = off / page * page;
            const std::uint64_t end = round_up(off + s.expert_bytes, page);
            auto* last = ranges.empty() ? nullptr : &ranges.back();
            if (last && last->first <= base + start && last->first + last->second >= base + start) {
                // The next expert of a merged tensor: extend the last range.
                const std::byte* last_end = last->first + last->second;
                if (base + end > last_end) {
                    total += std::uint64_t(base + end - last_end);
                    last->second = std::size_t(base + end - last->first);
                }
                continue;
            }
            ranges.emplace_back(base + start, std::size_t(end - start));
            total += end - start;
        }
    std::uint64_t done = 0;
    for (const auto& [start, bytes] : ranges) {
        if (::mlock(start, bytes) != 0) {
            const int err = errno;
            for (const auto& [s, b] : locked_) ::munlock(s, b);
            locked_.clear();
            rlimit limit{};
            ::getrlimit(RLIMIT_MEMLOCK, &limit);
            fail(
                "{}: --mlock cannot lock the experts' {} in RAM ({}); the memory-lock limit is {} "
                "(`ulimit -l` shows {}): raise it, or run without --mlock",
                file_.name(), format_bytes(total), std::strerror(err), limit_text(limit.rlim_cur),
                limit.rlim_cur == RLIM_INFINITY ? std::string("unlimited")
                                                : std::to_string(limit.rlim_cur / 1024));
        }
        locked_.emplace_back(start, bytes);
        done += bytes;
        if (progress) progress(done, total);
    }
}

void ExpertSource::read_into_ram(vk::Device* device, const HostTierProgress& progress) {
    const bool import = device && device->supports_host_import();
    const std::uint64_t align = std::max(page_size(), import ? device->host_import_alignment() : 1);
    // One region per layer: each part's experts back to back, each part starting on an
    // import boundary.
    std::vector<std::uint64_t> layer_bytes(n_layers_);
    std::uint64_t total = 0, ram_total = 0;
    for (std::uint32_t l = 0; l < n_layers_; ++l) {
        std::uint64_t at = 0;
        for (std::uint32_t t = first_slice_[l]; t < first_slice_[l + 1]; ++t) {
            Slices& s = slices_[t];
            s.import = l;
            s.import_offset = at;
            at = round_up(at + s.expert_bytes * n_experts_, align);
            total += s.expert_bytes * n_experts_;
        }
        layer_bytes[l] = at;
        ram_total += at;
    }
    const std::uint64_t ram = std::uint64_t(::sysconf(_SC_PHYS_PAGES)) * page_size();
    if (ram_total > ram)
        fail(
            "{}: --no-mmap needs {} of RAM for the experts and this machine has {}; run without it "
            "(the mapped file pages experts in from disk)",
            file_.name(), format_bytes(ram_total), format_bytes(ram));

    std::uint64_t done = 0;
    for (std::uint32_t l = 0; l < n_layers_; ++l) {
        auto region = std::make_unique<Owned>(std::max<std::uint64_t>(layer_bytes[l], align), align);
        if (!region->data)
            fail("{}: --no-mmap cannot allocate {} for the experts of layer {}: run without it", file_.name(),
                 format_bytes(layer_bytes[l]), l);
        for (std::uint32_t t = first_slice_[l]; t < first_slice_[l + 1]; ++t) {
            Slices& s = slices_[t];
            for (std::uint32_t e = 0; e < n_experts_; ++e) {
                std::byte* dst = region->data + s.import_offset + std::uint64_t(e) * s.expert_bytes;
                read_range(s.file_offsets[e], s.host[e], s.expert_bytes, dst);
                done += s.expert_bytes;
                if (progress) progress(done, total);
                s.host[e] = dst;
            }
        }
        owned_.push_back(std::move(region));
    }
    if (!import) return;
    try {
        for (std::uint32_t l = 0; l < n_layers_; ++l)
            imports_.push_back(vk::Buffer::import_host(*device, owned_[l]->data, owned_[l]->size,
                                                       "blk." + std::to_string(l) + " experts (host)"));
    } catch (const Error&) {
        imports_.clear();  // the driver refused (a pinning limit): uploads memcpy to staging
    }
}

// Reads `bytes` at file offset `offset` (mapped at `mapped`) into dst with pread, then drops
// the page cache's copy, which would double the RAM these bytes take.
void ExpertSource::read_range(std::uint64_t offset, const std::byte* mapped, std::uint64_t bytes,
                              std::byte* dst) {
    if (fd_ < 0) {
        std::memcpy(dst, mapped, bytes);
        return;
    }
    for (std::uint64_t at = 0; at < bytes;) {
        const ssize_t got = ::pread(fd_, dst + at, bytes - at, off_t(offset + at));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            fail("{}: reading {} bytes of experts at offset {}: {}", file_.name(), bytes - at, offset + at,
                 got < 0 ? std::strerror(errno) : "unexpected end of file");
        at += std::uint64_t(got);
        bytes_loaded_ += std::uint64_t(got);
    }
    ::posix_fadvise(fd_, off_t(offset), off_t(bytes), POSIX_FADV_DONTNEED);
}

const ExpertSource::Slices& ExpertSource::slices(std::uint32_t layer, std::uint32_t part) const {
    if (layer >= n_layers_) fail("expert source: layer {} of {}", layer, n_layers_);
    if (part >= parts_[layer]) fail("expert source: part {} of {}", part, parts_[layer]);
    return slices_[first_slice_[layer] + part];
}

std::uint32_t ExpertSource::parts(std::uint32_t layer) const {
    if (layer >= n_layers_) fail("expert source: layer {} of {}", layer, n_layers_);
    return parts_[layer];
}

std::uint64_t ExpertSource::expert_bytes(std::uint32_t layer, std::uint32_t part) const {
    return slices(layer, part).expert_bytes;
}

std::span<const std::byte> ExpertSource::bytes(std::uint32_t layer, std::uint32_t part,
                                               std::uint32_t expert) const {
    const Slices& s = slices(layer, part);
    if (expert >= n_experts_) fail("expert source: expert {} of {}", expert, n_experts_);
    return {s.host[expert], std::size_t(s.expert_bytes)};
}

std::optional<std::pair<const vk::Buffer*, std::uint64_t>> ExpertSource::device_visible(
    std::uint32_t layer, std::uint32_t part, std::uint32_t expert) const {
    if (imports_.empty()) return std::nullopt;
    const Slices& s = slices(layer, part);
    if (expert >= n_experts_) fail("expert source: expert {} of {}", expert, n_experts_);
    return std::pair{&imports_[s.import], s.import_offset + std::uint64_t(expert) * s.expert_bytes};
}

void ExpertSource::will_need(std::uint32_t layer, std::uint32_t expert) {
    if (!read_ahead_ || layer >= n_layers_ || expert >= n_experts_) return;
    for (std::uint32_t t = first_slice_[layer]; t < first_slice_[layer + 1]; ++t)
        read_ahead_->request(slices_[t].file_offsets[expert], slices_[t].expert_bytes);
}

void ExpertSource::drain_read_ahead() {
    if (read_ahead_) read_ahead_->drain();
}

void ExpertSource::copy_to(std::uint32_t layer, std::uint32_t t, std::uint32_t expert,
                           std::span<std::byte> dst) {
    const std::span<const std::byte> src = bytes(layer, t, expert);
    if (dst.size() != src.size()) fail("expert source: copy of {} bytes into {}", src.size(), dst.size());
    const std::uint64_t faults_before = major_faults_of_this_thread();
    const auto start = std::chrono::steady_clock::now();
    std::memcpy(dst.data(), src.data(), src.size());
    const std::uint64_t faults = major_faults_of_this_thread() - faults_before;
    if (faults == 0) return;  // served from RAM: no stall to report
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
    major_faults_ += faults;
    stall_ns_ += std::uint64_t(ns.count());
}

ExpertSourceStats ExpertSource::stats() const {
    ExpertSourceStats s;
    s.major_faults = major_faults_.load();
    s.fault_stall_s = double(stall_ns_.load()) * 1e-9;
    s.bytes_read = bytes_loaded_;
    if (read_ahead_) {
        s.read_aheads = read_ahead_->completed();
        s.bytes_read += read_ahead_->bytes_read();
    }
    return s;
}

}  // namespace ferry::offload
