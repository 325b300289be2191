// The pipeline cache on disk (vk/pipeline_cache.h): the file format's checks without a GPU,
// then devices that save, load, ignore and replace files, with what they print on stderr.
#include "elementwise_gpu.h"
#include "support/vulkan_test_device.h"
#include "vk/pipeline_cache.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ferry;
namespace fs = std::filesystem;

namespace {

vk::PipelineCacheIdentity some_identity() {
    vk::PipelineCacheIdentity id{.vendor_id = 0x10005, .device_id = 0x1234, .uuid = {}};
    for (std::uint8_t i = 0; i < VK_UUID_SIZE; ++i) id.uuid[i] = std::uint8_t(i * 7 + 1);
    return id;
}

// A VkPipelineCacheHeaderVersionOne for `id` (little-endian fields), then `extra` bytes.
std::vector<std::byte> driver_data(const vk::PipelineCacheIdentity& id, std::size_t extra = 0) {
    std::vector<std::byte> d(32 + extra, std::byte{0x5a});
    auto put = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) d[at + i] = std::byte(v >> (8 * i));
    };
    put(0, 32);
    put(4, VK_PIPELINE_CACHE_HEADER_VERSION_ONE);
    put(8, id.vendor_id);
    put(12, id.device_id);
    for (std::size_t i = 0; i < VK_UUID_SIZE; ++i) d[16 + i] = std::byte(id.uuid[i]);
    return d;
}

std::string decode_error(const std::vector<std::byte>& file, const vk::PipelineCacheIdentity& id) {
    return vk::decode_pipeline_cache_file(file, id).error;
}

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::path(FERRY_TEST_TMP_DIR) / "pipeline_cache" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_bytes(const fs::path& path, const std::vector<std::byte>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

std::vector<std::byte> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), {});
    std::vector<std::byte> bytes(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = std::byte(chars[i]);
    return bytes;
}

// What ferry writes to stderr (fd 2) while it lives: the lines that start with "ferry:".
// Drivers print their own lines there too (lavapipe's conformance warning); those are not
// ferry's and are dropped.
class StderrCapture {
public:
    StderrCapture() : path_(fs::path(FERRY_TEST_TMP_DIR) / "pipeline_cache_stderr.txt") {
        std::fflush(stderr);
        saved_ = ::dup(2);
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    std::vector<std::string> ferry_lines() {
        restore();
        std::ifstream in(path_);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);)
            if (line.starts_with("ferry:")) lines.push_back(line);
        return lines;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    fs::path path_;
    int saved_ = -1;
};

// The fixture's physical device, with the cache in `dir`.
vk::DeviceOptions cache_options(const test::GpuTest& gpu, const fs::path& dir) {
    vk::DeviceOptions o;
    o.apply_env();
    o.index = gpu.device().info().index;
    o.pipeline_cache_dir = dir;
    o.no_pipeline_cache = false;
    return o;
}

// Makes a device on `dir`, builds one pipeline, destroys the device (which saves); returns
// the ferry lines printed meanwhile and the cache's status before destruction.
std::vector<std::string> device_lifetime(const test::GpuTest& gpu, const fs::path& dir,
                                         vk::PipelineCacheStatus& status) {
    StderrCapture err;
    {
        vk::Device device(gpu.instance(), cache_options(gpu, dir));
        const auto pipeline = test::elementwise_pipeline(device, "scale", 64);
        status = device.pipeline_cache().status();
    }
    return err.ferry_lines();
}

struct EnvVar {
    std::string name;
    std::optional<std::string> old;
    EnvVar(std::string n, const char* value) : name(std::move(n)) {
        if (const char* v = std::getenv(name.c_str())) old = v;
        if (value)
            ::setenv(name.c_str(), value, 1);
        else
            ::unsetenv(name.c_str());
    }
    ~EnvVar() {
        if (old)
            ::setenv(name.c_str(), old->c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
};

}  // namespace

TEST_CASE("a pipeline cache file decodes to the driver data it was made from") {
    const auto id = some_identity();
    const auto data = driver_data(id, 100);
    const auto file = vk::encode_pipeline_cache_file(data);
    const auto decoded = vk::decode_pipeline_cache_file(file, id);
    CHECK(decoded.error == "");
    REQUIRE(decoded.driver_data.size() == data.size());
    CHECK(std::equal(data.begin(), data.end(), decoded.driver_data.begin()));
}

TEST_CASE("a torn, corrupt or foreign pipeline cache file is refused with the reason") {
    const auto id = some_identity();
    const auto good = vk::encode_pipeline_cache_file(driver_data(id, 64));

    SUBCASE("shorter than ferry's header") {
        CHECK(decode_error({good.begin(), good.begin() + 10}, id).starts_with("truncated: 10 bytes"));
        CHECK(decode_error({}, id).starts_with("truncated: 0 bytes"));
    }
    SUBCASE("random bytes") {
        std::mt19937 rng(20);
        std::vector<std::byte> noise(good.size());
        for (auto& b : noise) b = std::byte(rng());
        CHECK(decode_error(noise, id) == "not a ferry pipeline cache file");
    }
    SUBCASE("cut inside the driver data") {
        CHECK(decode_error({good.begin(), good.end() - 1}, id).find("the header says 96 bytes") !=
              std::string::npos);
    }
    SUBCASE("one flipped bit") {
        auto bad = good;
        bad[40] ^= std::byte{0x04};
        CHECK(decode_error(bad, id) == "corrupt: the data does not match its checksum");
    }
    SUBCASE("driver data shorter than a Vulkan header") {
        const std::vector<std::byte> tiny(8, std::byte{1});
        CHECK(decode_error(vk::encode_pipeline_cache_file(tiny), id).find("shorter than a Vulkan") !=
              std::string::npos);
    }
    SUBCASE("a Vulkan header length past the data") {
        auto d = driver_data(id);
        d[0] = std::byte{33};
        CHECK(decode_error(vk::encode_pipeline_cache_file(d), id).starts_with("Vulkan header length 33"));
    }
    SUBCASE("another header version") {
        auto d = driver_data(id);
        d[4] = std::byte{2};
        CHECK(decode_error(vk::encode_pipeline_cache_file(d), id).starts_with("Vulkan header version 2"));
    }
    SUBCASE("another device") {
        auto other = id;
        other.device_id = 0x9999;
        CHECK(decode_error(vk::encode_pipeline_cache_file(driver_data(other)), id) ==
              "made for vendor 0x10005 device 0x9999, this is vendor 0x10005 device 0x1234");
    }
    SUBCASE("another driver build (UUID)") {
        auto other = id;
        other.uuid[15] ^= 1;
        CHECK(decode_error(vk::encode_pipeline_cache_file(driver_data(other)), id) ==
              "made by another driver build (pipelineCacheUUID differs)");
    }
}

TEST_CASE("the pipeline cache folder follows XDG_CACHE_HOME, then HOME") {
    {
        EnvVar xdg("XDG_CACHE_HOME", "/x/cache"), home("HOME", "/home/u");
        CHECK(vk::default_pipeline_cache_dir() == fs::path("/x/cache/ferry"));
    }
    {
        // The XDG spec: a relative path is invalid and ignored.
        EnvVar xdg("XDG_CACHE_HOME", "relative"), home("HOME", "/home/u");
        CHECK(vk::default_pipeline_cache_dir() == fs::path("/home/u/.cache/ferry"));
    }
    {
        EnvVar xdg("XDG_CACHE_HOME", nullptr), home("HOME", nullptr);
        CHECK(vk::default_pipeline_cache_dir().empty());
    }
}

TEST_CASE("FERRY_NO_PIPELINE_CACHE=1 keeps the cache in memory; other values are refused") {
    {
        EnvVar off("FERRY_NO_PIPELINE_CACHE", "1");
        vk::DeviceOptions o;
        o.apply_env();
        CHECK(o.no_pipeline_cache);
    }
    {
        EnvVar off("FERRY_NO_PIPELINE_CACHE", "0");
        vk::DeviceOptions o;
        o.apply_env();
        CHECK_FALSE(o.no_pipeline_cache);
    }
    EnvVar off("FERRY_NO_PIPELINE_CACHE", "yes");
    vk::DeviceOptions o;
    CHECK_THROWS_WITH_AS(o.apply_env(), doctest::Contains("FERRY_NO_PIPELINE_CACHE=yes"), Error);
}

TEST_CASE("the pipeline cache is saved when the device goes and loaded by the next one") {
    test::GpuTest gpu;
    if (!gpu) return;
    const fs::path dir = fresh_dir("round_trip");
    vk::PipelineCacheStatus first, second;
    CHECK(device_lifetime(gpu, dir, first).empty());
    CHECK(first.path == dir / vk::pipeline_cache_file_name(gpu.device().info()));
    CHECK(first.loaded_bytes == 0);
    CHECK(first.pipelines_built == 1);
    REQUIRE(fs::is_regular_file(first.path));
    const auto saved = read_bytes(first.path);
    CHECK(vk::decode_pipeline_cache_file(saved, vk::pipeline_cache_identity(gpu.device().info())).error ==
          "");

    CHECK(device_lifetime(gpu, dir, second).empty());  // no "ignoring" line
    CHECK(second.ignored == "");
    CHECK(second.loaded_bytes == saved.size() - 32);  // all of the driver's data went to Vulkan
    CHECK(fs::is_regular_file(first.path));
}

TEST_CASE("a corrupt, truncated or foreign pipeline cache file is ignored with one line and replaced") {
    test::GpuTest gpu;
    if (!gpu) return;
    const auto id = vk::pipeline_cache_identity(gpu.device().info());
    const fs::path dir = fresh_dir("corrupt");
    const fs::path file = dir / vk::pipeline_cache_file_name(gpu.device().info());
    std::string expected_reason;
    SUBCASE("random bytes") {
        std::mt19937 rng(4);
        std::vector<std::byte> noise(4096);
        for (auto& b : noise) b = std::byte(rng());
        write_bytes(file, noise);
        expected_reason = "not a ferry pipeline cache file";
    }
    SUBCASE("truncated header") {
        const auto good = vk::encode_pipeline_cache_file(driver_data(id));
        write_bytes(file, {good.begin(), good.begin() + 20});
        expected_reason = "truncated: 20 bytes";
    }
    SUBCASE("wrong UUID") {
        auto other = id;
        other.uuid[0] ^= 0xff;
        write_bytes(file, vk::encode_pipeline_cache_file(driver_data(other)));
        expected_reason = "made by another driver build";
    }
    vk::PipelineCacheStatus status;
    const auto lines = device_lifetime(gpu, dir, status);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("ferry: ignoring pipeline cache " + file.string() + ": " + expected_reason));
    CHECK(status.ignored.starts_with(expected_reason));
    CHECK(status.loaded_bytes == 0);
    // Replaced by this device's cache, which the next device loads without a word.
    CHECK(vk::decode_pipeline_cache_file(read_bytes(file), id).error == "");
    CHECK(device_lifetime(gpu, dir, status).empty());
    CHECK(status.loaded_bytes > 0);
}

TEST_CASE("a pipeline cache that cannot be read or written costs one line each, not an error") {
    test::GpuTest gpu;
    if (!gpu) return;
    const fs::path dir = fresh_dir("unusable");
    vk::PipelineCacheStatus status;
    SUBCASE("the folder cannot be made: a file is in its place") {
        write_bytes(dir / "file", {std::byte{1}});
        const auto lines = device_lifetime(gpu, dir / "file" / "ferry", status);
        REQUIRE(lines.size() == 1);  // nothing to read is not worth a line; the failed save is
        CHECK(lines[0].starts_with("ferry: cannot save pipeline cache "));
        CHECK(status.pipelines_built == 1);
    }
    SUBCASE("the file cannot be read: a folder is in its place") {
        const fs::path file = dir / vk::pipeline_cache_file_name(gpu.device().info());
        fs::create_directories(file / "inside");
        const auto lines = device_lifetime(gpu, dir, status);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0] == "ferry: ignoring pipeline cache " + file.string() + ": not a regular file");
        CHECK(lines[1].starts_with("ferry: cannot save pipeline cache " + file.string()));
        CHECK(fs::is_directory(file / "inside"));  // left as it was
    }
    SUBCASE("the file cannot be opened (not root: root reads everything)") {
        if (::geteuid() == 0) return;
        const fs::path file = dir / vk::pipeline_cache_file_name(gpu.device().info());
        write_bytes(file, vk::encode_pipeline_cache_file(
                              driver_data(vk::pipeline_cache_identity(gpu.device().info()))));
        fs::permissions(file, fs::perms::none);
        const auto lines = device_lifetime(gpu, dir, status);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].starts_with("ferry: ignoring pipeline cache " + file.string()));
        // The save replaced it (the folder is writable): readable again, and valid.
        CHECK(
            vk::decode_pipeline_cache_file(read_bytes(file), vk::pipeline_cache_identity(gpu.device().info()))
                .error == "");
    }
}

TEST_CASE("a device with FERRY_NO_PIPELINE_CACHE's option set writes no file") {
    test::GpuTest gpu;
    if (!gpu) return;
    const fs::path dir = fresh_dir("disabled");
    auto o = cache_options(gpu, dir);
    o.no_pipeline_cache = true;
    {
        vk::Device device(gpu.instance(), o);
        const auto pipeline = test::elementwise_pipeline(device, "scale", 64);
        CHECK(device.pipeline_cache().status().path.empty());
        CHECK(device.pipeline_cache().save());
    }
    CHECK(fs::is_empty(dir));
}
