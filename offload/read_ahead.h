#pragma once
// A few reader threads that bring ranges of the model file into the page cache before the
// forward pass needs them, so copying a predicted expert finds its pages in RAM instead of
// faulting on the disk. madvise(MADV_WILLNEED) alone is a hint the kernel may drop; a
// pread of the range is a read that completes.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

namespace ferry::offload {

class ReadAheadPool {
public:
    // Reads with pread from `fd` (not owned) or, where fd < 0, touches one byte per page
    // of `mapped` (the file's mapping; offsets index it). threads == 0: requests are dropped.
    ReadAheadPool(int fd, std::span<const std::byte> mapped, unsigned threads);
    // Drops what is still queued and joins the threads.
    ~ReadAheadPool();
    ReadAheadPool(const ReadAheadPool&) = delete;
    ReadAheadPool& operator=(const ReadAheadPool&) = delete;

    // Queues the file range [offset, offset + bytes). Returns false when it was dropped: a
    // request for the same offset is already queued or being read, or the queue is full
    // (a prediction that old is stale anyway).
    bool request(std::uint64_t offset, std::uint64_t bytes);
    // Waits until every queued request has been read (tests; shutting down in order).
    void drain();

    std::uint64_t completed() const;   // requests read
    std::uint64_t bytes_read() const;  // their bytes (read or touched)

private:
    struct Range {
        std::uint64_t offset;
        std::uint64_t bytes;
    };
    void work();
    // Bytes brought in (fewer than asked only on a read error).
    std::uint64_t read(const Range& r, std::vector<std::byte>& scratch) const;

    static constexpr std::size_t kMaxQueued = 1024;
    const int fd_;
    const std::span<const std::byte> mapped_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;  // a request arrived, or stopping
    std::condition_variable idle_;  // the queue emptied and no read is in flight
    std::deque<Range> queue_;
    std::unordered_set<std::uint64_t> pending_;  // offsets queued or being read
    std::size_t in_flight_ = 0;
    std::uint64_t completed_ = 0;
    std::uint64_t bytes_read_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace ferry::offload
