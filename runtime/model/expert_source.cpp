#include "model/expert_source.h"

#include "base/error.h"
#include "base/units.h"
#include "model/read_ahead.h"

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

namespace ferry::model {
namespace {

constexpr const char* kTensorNames[3] = {"ffn_gate_exps.weight", "ffn_up_exps.weight",
                                         "ffn_down_exps.weight"};

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

ExpertSource::ExpertSource(const gguf::File& file, const ModelConfig& config, vk::Device* device,
                           const ExpertSourceOptions& options, const HostTierProgress& progress)
    : file_(file), tier_(options.tier), n_layers_(config.n_layers), n_experts_(config.n_experts) {
    slices_.resize(std::size_t(n_layers_) * 3);
    for (std::uint32_t l = 0; l < n_layers_; ++l)
        for (int t = 0; t < 3; ++t) {
            const std::string name = layer_tensor(l, kTensorNames[t]);
            const gguf::TensorInfo* info = file.find_tensor(name);
            if (!info) fail("{}: tensor {} is missing", file.name(), name);
            if (info->dim(2) != n_experts_)
                fail("{}: tensor {} holds {} experts, the model has {}", file.name(), name, info->dim(2),
                     n_experts_);
            Slices& s = slices_[std::size_t(l) * 3 + t];
            s.file_offset = info->offset;
            s.expert_bytes = info->bytes / n_experts_;
            s.host = file.tensor_data(*info).data();
        }
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
    for (const Slices& s : slices_) {
        const std::uint64_t start = s.file_offset / page * page;
        const std::uint64_t end = round_up(s.file_offset + s.expert_bytes * n_experts_, page);
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
    // One region per layer: gate, up, down, each starting on an import boundary.
    std::vector<std::uint64_t> layer_bytes(n_layers_);
    std::uint64_t total = 0, ram_total = 0;
    for (std::uint32_t l = 0; l < n_layers_; ++l) {
        std::uint64_t at = 0;
        for (int t = 0; t < 3; ++t) {
            Slices& s = slices_[std::size_t(l) * 3 + t];
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
        auto region = std::make_unique<Owned>(layer_bytes[l], align);
        if (!region->data)
            fail("{}: --no-mmap cannot allocate {} for the experts of layer {}: run without it", file_.name(),
                 format_bytes(layer_bytes[l]), l);
        for (int t = 0; t < 3; ++t) {
            Slices& s = slices_[std::size_t(l) * 3 + t];
            std::byte* dst = region->data + s.import_offset;
            const std::uint64_t bytes = s.expert_bytes * n_experts_;
            constexpr std::uint64_t kPiece = 8ull << 20;  // progress steps
            for (std::uint64_t at = 0; at < bytes;) {
                const std::uint64_t n = std::min(kPiece, bytes - at);
                if (fd_ < 0) {
                    std::memcpy(dst + at, s.host + at, n);
                    at += n;
                } else {
                    const ssize_t got = ::pread(fd_, dst + at, n, off_t(s.file_offset + at));
                    if (got < 0 && errno == EINTR) continue;
                    if (got <= 0)
                        fail("{}: reading {} bytes of experts at offset {}: {}", file_.name(), n,
                             s.file_offset + at, got < 0 ? std::strerror(errno) : "unexpected end of file");
                    at += std::uint64_t(got);
                    bytes_loaded_ += std::uint64_t(got);
                }
                if (progress) progress(done + at, total);
            }
            done += bytes;
            // The page cache's copy would double the RAM these bytes take: drop it.
            if (fd_ >= 0) ::posix_fadvise(fd_, off_t(s.file_offset), off_t(bytes), POSIX_FADV_DONTNEED);
            s.host = dst;
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

const ExpertSource::Slices& ExpertSource::slices(std::uint32_t layer, ExpertTensor t) const {
    if (layer >= n_layers_) fail("expert source: layer {} of {}", layer, n_layers_);
    return slices_[std::size_t(layer) * 3 + std::size_t(t)];
}

std::uint64_t ExpertSource::expert_bytes(std::uint32_t layer, ExpertTensor t) const {
    return slices(layer, t).expert_bytes;
}

std::span<const std::byte> ExpertSource::bytes(std::uint32_t layer, ExpertTensor t,
                                               std::uint32_t expert) const {
    const Slices& s = slices(layer, t);
    if (expert >= n_experts_) fail("expert source: expert {} of {}", expert, n_experts_);
    return {s.host + std::uint64_t(expert) * s.expert_bytes, std::size_t(s.expert_bytes)};
}

std::optional<std::pair<const vk::Buffer*, std::uint64_t>> ExpertSource::device_visible(
    std::uint32_t layer, ExpertTensor t, std::uint32_t expert) const {
    if (imports_.empty()) return std::nullopt;
    const Slices& s = slices(layer, t);
    if (expert >= n_experts_) fail("expert source: expert {} of {}", expert, n_experts_);
    return std::pair{&imports_[s.import], s.import_offset + std::uint64_t(expert) * s.expert_bytes};
}

void ExpertSource::will_need(std::uint32_t layer, std::uint32_t expert) {
    if (!read_ahead_ || layer >= n_layers_ || expert >= n_experts_) return;
    for (int t = 0; t < 3; ++t) {
        const Slices& s = slices_[std::size_t(layer) * 3 + t];
        read_ahead_->request(s.file_offset + std::uint64_t(expert) * s.expert_bytes, s.expert_bytes);
    }
}

void ExpertSource::drain_read_ahead() {
    if (read_ahead_) read_ahead_->drain();
}

void ExpertSource::copy_to(std::uint32_t layer, ExpertTensor t, std::uint32_t expert,
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

}  // namespace ferry::model
