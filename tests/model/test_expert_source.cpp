// The host tier of the expert store: every tier hands out the file's bytes, read-ahead
// changes nothing but timing, and --mlock fails with a message that says what to do.
#include "base/error.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/recipe.h"
#include "offload/expert_source.h"
#include "offload/read_ahead.h"
#include "model/synthetic_model.h"
#include "support/vulkan_test_device.h"
#include "vk/command.h"
#include "vk/transfer.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

using namespace ferry;
// Parts of a separate gate / up / down expert (offload/expert_layout.h).
constexpr std::uint32_t kGate = 0, kUp = 1, kDown = 2;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

constexpr std::uint32_t kTensors[3] = {kGate, kUp, kDown};

// Two layers of eight q8_0 experts: 26112 bytes each, so slices start off page boundaries.
const std::filesystem::path& model_path() {
    static const std::filesystem::path path = [] {
        model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
        spec.n_ff_expert = 96;
        spec.quant = model::quant_mix_from_name("q8_0");
        spec.seed = 77;
        const auto p = std::filesystem::path(FERRY_TEST_TMP_DIR) / "expert_source.gguf";
        model::write_synthetic_model(spec, p);
        return p;
    }();
    return path;
}

// The expert's bytes straight from the tensor table, independent of ExpertSource.
std::span<const std::byte> file_slice(const gguf::File& file, std::uint32_t layer, std::uint32_t t,
                                      std::uint32_t e) {
    static constexpr const char* names[3] = {"ffn_gate_exps.weight", "ffn_up_exps.weight",
                                             "ffn_down_exps.weight"};
    const gguf::TensorInfo& info = *file.find_tensor(model::layer_tensor(layer, names[int(t)]));
    const std::uint64_t bytes = info.bytes / info.dim(2);
    return file.tensor_data(info).subspan(e * bytes, bytes);
}

void check_every_slice(const gguf::File& file, offload::ExpertSource& source) {
    for (std::uint32_t l = 0; l < source.n_layers(); ++l)
        for (std::uint32_t t : kTensors)
            for (std::uint32_t e = 0; e < source.n_experts(); ++e) {
                CAPTURE(l);
                CAPTURE(int(t));
                CAPTURE(e);
                const auto want = file_slice(file, l, t, e);
                const auto got = source.bytes(l, t, e);
                REQUIRE(got.size() == want.size());
                REQUIRE(std::memcmp(got.data(), want.data(), want.size()) == 0);
                std::vector<std::byte> copy(want.size());
                source.copy_to(l, t, e, copy);
                REQUIRE(std::memcmp(copy.data(), want.data(), want.size()) == 0);
            }
}

// Lowers this thread's CAP_IPC_LOCK (root ignores RLIMIT_MEMLOCK otherwise) and the soft
// memory-lock limit; puts both back when destroyed.
class LowMemlockLimit {
public:
    explicit LowMemlockLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_MEMLOCK, &saved_);
        rlimit low = saved_;
        low.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_MEMLOCK, &low) == 0);
        header_.version = _LINUX_CAPABILITY_VERSION_3;
        REQUIRE(::syscall(SYS_capget, &header_, caps_) == 0);
        __user_cap_data_struct lowered[2];
        std::memcpy(lowered, caps_, sizeof caps_);
        lowered[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
        REQUIRE(::syscall(SYS_capset, &header_, lowered) == 0);  // dropping needs no privilege
    }
    ~LowMemlockLimit() {
        ::syscall(SYS_capset, &header_, caps_);  // still permitted, so it may come back
        ::setrlimit(RLIMIT_MEMLOCK, &saved_);
    }

private:
    rlimit saved_{};
    __user_cap_header_struct header_{};
    __user_cap_data_struct caps_[2]{};
};

}  // namespace

TEST_CASE("every host tier hands out the file's bytes for every expert slice") {
    const gguf::File file = gguf::File::open(model_path());
    const model::ModelConfig config = model::read_config(file);
    for (offload::HostTier tier : {offload::HostTier::Mmap, offload::HostTier::Mlock, offload::HostTier::NoMmap}) {
        CAPTURE(offload::host_tier_name(tier));
        std::uint64_t last_done = 0, last_total = 0;
        std::unique_ptr<offload::ExpertSource> source;
        try {
            source =
                std::make_unique<offload::ExpertSource>(file, model::expert_layout(file, config), nullptr, offload::ExpertSourceOptions{tier},
                                                      [&](std::uint64_t done, std::uint64_t total) {
                                                          CHECK(done >= last_done);
                                                          last_done = done;
                                                          last_total = total;
                                                      });
        } catch (const Error& e) {
            // Only an unprivileged CI runner with a small `ulimit -l` gets here.
            REQUIRE(tier == offload::HostTier::Mlock);
            REQUIRE(std::string(e.what()).find("ulimit -l") != std::string::npos);
            MESSAGE("SKIPPED the mlock tier: " << e.what());
            continue;
        }
        CHECK(source->tier() == tier);
        CHECK(source->n_layers() == 2);
        CHECK(source->n_experts() == 8);
        CHECK(source->expert_bytes(0, kDown) == 26112);
        if (tier != offload::HostTier::Mmap) CHECK(last_done == last_total);  // progress ran to the end
        CHECK_FALSE(source->device_visible(1, kUp, 3));        // no device given
        check_every_slice(file, *source);
        if (tier == offload::HostTier::NoMmap) {
            // Its own memory, not the mapping, and read with pread.
            CHECK(source->bytes(0, kGate, 0).data() !=
                  file_slice(file, 0, kGate, 0).data());
            CHECK(source->stats().bytes_read == 2 * 3 * 8 * 26112ull);
        }
    }
}

TEST_CASE("read-ahead of every expert brings its bytes in and changes no data") {
    const gguf::File file = gguf::File::open(model_path());
    const model::ModelConfig config = model::read_config(file);
    offload::ExpertSource source(file, model::expert_layout(file, config), nullptr, {offload::HostTier::Mmap, 3});
    for (std::uint32_t l = 0; l < 2; ++l)
        for (std::uint32_t e = 0; e < 8; ++e) {
            source.will_need(l, e);
            source.will_need(l, e);  // a repeat is dropped or read again, never an error
        }
    source.will_need(5, 0);  // out of range: ignored (a prediction, not a request)
    source.drain_read_ahead();
    const offload::ExpertSourceStats s = source.stats();
    CHECK(s.read_aheads >= 2 * 3 * 8);
    CHECK(s.bytes_read >= 2 * 3 * 8 * 26112ull);
    check_every_slice(file, source);

    // Mlock and NoMmap have their bytes in RAM already: will_need does nothing.
    offload::ExpertSource owned(file, model::expert_layout(file, config), nullptr, {offload::HostTier::NoMmap, 3});
    const std::uint64_t loaded = owned.stats().bytes_read;
    owned.will_need(0, 1);
    owned.drain_read_ahead();
    CHECK(owned.stats().read_aheads == 0);
    CHECK(owned.stats().bytes_read == loaded);
}

TEST_CASE("the read-ahead pool reads each accepted range once and drops duplicates it still holds") {
    const gguf::File file = gguf::File::open(model_path());
    const int fd = ::open(model_path().c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::uint64_t accepted = 0, accepted_bytes = 0;
    {
        offload::ReadAheadPool pool(fd, file.bytes(), 2);
        for (int round = 0; round < 3; ++round)
            for (std::uint64_t off = 0; off + 4096 <= file.file_size(); off += 4096)
                if (pool.request(off, 4096)) {
                    ++accepted;
                    accepted_bytes += 4096;
                }
        pool.drain();
        CHECK(pool.completed() == accepted);
        CHECK(pool.bytes_read() == accepted_bytes);
        offload::ReadAheadPool off(fd, file.bytes(), 0);
        CHECK_FALSE(off.request(0, 4096));  // no threads: read-ahead is off
    }
    ::close(fd);
}

TEST_CASE("copies from an evicted mapping count the major faults they waited for") {
    const gguf::File file = gguf::File::open(model_path());
    const model::ModelConfig config = model::read_config(file);
    offload::ExpertSource source(file, model::expert_layout(file, config), nullptr, {offload::HostTier::Mmap, 0});
    // Evict the file from the page cache; where the file system keeps it (tmpfs), there is
    // nothing to measure.
    const int fd = ::open(model_path().c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    const auto slice = source.bytes(1, kDown, 7);
    const long page = ::sysconf(_SC_PAGESIZE);
    auto* start = reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(slice.data()) &
                                               ~std::uintptr_t(page - 1));
    std::vector<unsigned char> resident((slice.data() + slice.size() - start + page - 1) / page);
    REQUIRE(::mincore(start, std::size_t(slice.data() + slice.size() - start), resident.data()) == 0);
    if (resident[0] & 1) {
        MESSAGE("SKIPPED: the file system keeps the model in memory; no fault to measure");
        return;
    }
    std::vector<std::byte> dst(slice.size());
    source.copy_to(1, kDown, 7, dst);
    CHECK(source.stats().major_faults > 0);
    CHECK(source.stats().fault_stall_s > 0);
    CHECK(std::memcmp(dst.data(), file_slice(file, 1, kDown, 7).data(), dst.size()) == 0);
}

TEST_CASE("--mlock over the memory-lock limit fails with what it asked and `ulimit -l`") {
    if (kAddressSanitizer) {
        MESSAGE("SKIPPED: AddressSanitizer turns mlock into a no-op");
        return;
    }
    const gguf::File file = gguf::File::open(model_path());
    const model::ModelConfig config = model::read_config(file);
    std::string message;
    {
        LowMemlockLimit limit(64 * 1024);
        try {
            offload::ExpertSource source(file, model::expert_layout(file, config), nullptr, {offload::HostTier::Mlock, 2});
        } catch (const Error& e) {
            message = e.what();
        }
    }
    CAPTURE(message);
    CHECK(message.find("expert_source.gguf: --mlock cannot lock the experts'") != std::string::npos);
    CHECK(message.find("ulimit -l` shows 64)") != std::string::npos);
    CHECK(message.find("the memory-lock limit is 64") != std::string::npos);
}

TEST_CASE("no-mmap experts imported into Vulkan copy to VRAM straight from host memory") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const gguf::File file = gguf::File::open(model_path());
    const model::ModelConfig config = model::read_config(file);
    offload::ExpertSource source(file, model::expert_layout(file, config), &device, {offload::HostTier::NoMmap, 2});
    if (!device.supports_host_import()) {
        CHECK_FALSE(source.imported());
        MESSAGE("SKIPPED: " << device.info().name << " cannot import host memory; uploads memcpy");
        return;
    }
    REQUIRE(source.imported());
    const std::uint64_t used = device.accountant().current();
    const std::uint64_t bytes = source.expert_bytes(0, kGate);
    vk::Buffer vram(device, 3 * bytes, vk::MemoryKind::DeviceLocal, "slots");
    CHECK(device.accountant().current() == used + vram.counted_bytes());  // imports are not VRAM
    vk::CommandBuffer cmd(device, vk::QueueKind::Transfer);
    std::vector<std::byte> back(3 * bytes);
    for (std::uint32_t l = 0; l < 2; ++l)
        for (std::uint32_t e : {0u, 5u, 7u}) {
            CAPTURE(l);
            CAPTURE(e);
            cmd.begin();
            for (int t = 0; t < 3; ++t) {
                const auto at = source.device_visible(l, kTensors[t], e);
                REQUIRE(at);
                cmd.copy(*at->first, vram, {at->second, t * bytes, bytes});
            }
            cmd.submit();
            cmd.wait();
            vk::download(device, vram, std::span<std::byte>(back));
            for (int t = 0; t < 3; ++t)
                CHECK(std::memcmp(back.data() + t * bytes, file_slice(file, l, kTensors[t], e).data(),
                                  bytes) == 0);
        }
}
