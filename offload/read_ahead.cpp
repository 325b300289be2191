#include "offload/read_ahead.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ferry::offload {

ReadAheadPool::ReadAheadPool(int fd, std::span<const std::byte> mapped, unsigned threads)
    : fd_(fd), mapped_(mapped) {
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

ReadAheadPool::~ReadAheadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
}

bool ReadAheadPool::request(std::uint64_t offset, std::uint64_t bytes) {
    if (threads_.empty() || bytes == 0) return false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= kMaxQueued || !pending_.insert(offset).second) return false;
        queue_.push_back({offset, bytes});
    }
    wake_.notify_one();
    return true;
}

void ReadAheadPool::drain() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && in_flight_ == 0; });
}

std::uint64_t ReadAheadPool::completed() const {
    std::lock_guard lock(mutex_);
    return completed_;
}

std::uint64_t ReadAheadPool::bytes_read() const {
    std::lock_guard lock(mutex_);
    return bytes_read_;
}

void ReadAheadPool::work() {
    std::vector<std::byte> scratch;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        const Range r = queue_.front();
        queue_.pop_front();
        ++in_flight_;
        lock.unlock();
        const std::uint64_t got = read(r, scratch);
        lock.lock();
        --in_flight_;
        pending_.erase(r.offset);
        ++completed_;
        bytes_read_ += got;
        if (queue_.empty() && in_flight_ == 0) idle_.notify_all();
    }
}

std::uint64_t ReadAheadPool::read(const Range& r, std::vector<std::byte>& scratch) const {
    if (fd_ < 0) {
        // No file to read (a model in memory): fault the mapped pages in instead.
        const long page = ::sysconf(_SC_PAGESIZE);
        const std::uint64_t end = std::min<std::uint64_t>(r.offset + r.bytes, mapped_.size());
        volatile std::byte sink{};
        for (std::uint64_t i = r.offset; i < end; i += std::uint64_t(page)) sink = mapped_[i];
        (void)sink;
        return end > r.offset ? end - r.offset : 0;
    }
    // The hint first, so the kernel can start one large read; then read it for certain,
    // in pieces small enough that a thread's scratch buffer stays in cache.
    if (!mapped_.empty() && r.offset < mapped_.size()) {
        const long page = ::sysconf(_SC_PAGESIZE);
        const std::uint64_t start = r.offset & ~std::uint64_t(page - 1);
        const std::uint64_t end = std::min<std::uint64_t>(r.offset + r.bytes, mapped_.size());
        ::madvise(const_cast<std::byte*>(mapped_.data()) + start, end - start, MADV_WILLNEED);
    }
    constexpr std::size_t kPiece = 1 << 20;
    scratch.resize(kPiece);
    std::uint64_t done = 0;
    while (done < r.bytes) {
        const std::size_t n = std::size_t(std::min<std::uint64_t>(kPiece, r.bytes - done));
        const ssize_t got = ::pread(fd_, scratch.data(), n, off_t(r.offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // only a hint: the copy itself will fault and report
        done += std::uint64_t(got);
    }
    return done;
}

}  // namespace ferry::offload
