// `ferry chat` end to end, driven through pipes as a script would: each input line is a
// user turn; --stats-json puts one JSON object per answer on stderr, which says how many
// tokens the turn prefilled and how many it found in the KV cache.
#include "chat_process.h"

#include "gguf/reader.h"
#include "support/vulkan_test_device.h"
#include "text/gguf_vocab.h"
#include "text/tokenizer.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ferry::test::ChildProcess;
using nlohmann::json;

const std::string kTmp = FERRY_TEST_TMP_DIR;

// A tiny random-weight model (Qwen3-style ChatML template), written once per test binary.
const std::string& model_path() {
    static const std::string path = [] {
        const std::string p = kTmp + "/chat_cli_tiny.gguf";
        std::string err;
        const int rc = ferry::test::run_command(
            {FERRY_BIN, "make-model", "--preset", "tiny", "--seed", "7", "-o", p, "--force"}, &err);
        INFO(err);
        REQUIRE(rc == 0);
        return p;
    }();
    return path;
}

std::vector<std::string> chat_args(std::vector<std::string> extra) {
    std::vector<std::string> args = {FERRY_BIN, "chat", "-m", model_path(), "--seed", "3", "--stats-json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// The --stats-json lines of stderr, in order.
std::vector<json> stats_lines(const std::string& err) {
    std::vector<json> out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
    return out;
}

std::size_t count_tokens(const std::string& text) {
    const auto file = ferry::gguf::File::open(model_path());
    const ferry::text::Tokenizer tok(ferry::text::vocabulary_from_gguf(file));
    return tok.encode(text, {.add_special = false, .parse_special = true}).size();
}

json read_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return json::parse(in);
}

bool exited_zero(int status) {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("a second turn prefills only its own new tokens") {
    if (ferry::test::vulkan_device() == nullptr) return;
    ChildProcess chat(chat_args({"-n", "12"}));
    chat.write("hello there\nhow are you today\n");
    chat.close_stdin();
    const int status = chat.wait_exit();
    INFO(chat.err());
    CHECK(exited_zero(status));
    const auto stats = stats_lines(chat.err());
    REQUIRE(stats.size() == 2);
    const json& t1 = stats[0];
    const json& t2 = stats[1];
    CHECK(t1["reused"] == 0);
    CHECK(t1["prefilled"] == t1["prompt_tokens"]);
    CHECK(t1["prefilled"] ==
          count_tokens("<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n"));
    // Everything turn 1 left in the cache (its prompt and the whole answer) is reused; the
    // prefill is the end of the answer's turn, the new question and the assistant opening.
    CHECK(t2["reused"] == t1["context_used"]);
    CHECK(t2["prefilled"].get<int>() == t2["prompt_tokens"].get<int>() - t2["reused"].get<int>());
    CHECK(t2["prefilled"] ==
          count_tokens("<|im_end|>\n<|im_start|>user\nhow are you today<|im_end|>\n<|im_start|>assistant\n"));
    // One answer per turn on stdout, no prompts.
    CHECK(std::count(chat.out().begin(), chat.out().end(), '\n') >= 2);
    CHECK(chat.out().find("> ") != 0);
}

// Qwen3.5 with thinking off: turn 1's prompt ends in an empty think block that the next
// turn's rendering of that answer drops, so the prompts part where the answer opened; the
// recurrent layers come back to their checkpoint at the end of turn 1's history.
TEST_CASE("a hybrid (DeltaNet) model's second turn resumes from the end of the first turn's history") {
    if (ferry::test::vulkan_device() == nullptr) return;
    const std::string path = kTmp + "/chat_cli_qwen35.gguf";
    REQUIRE(ferry::test::run_command({FERRY_BIN, "make-model", "--preset", "tiny-qwen35moe", "--seed", "7", "-o",
                                      path, "--force"}) == 0);
    ChildProcess chat({FERRY_BIN, "chat", "-m", path, "--seed", "3", "--stats-json", "--no-think", "-n", "6"});
    chat.write("hello there\nhow are you today\n");
    chat.close_stdin();
    const int status = chat.wait_exit();
    INFO(chat.err());
    CHECK(exited_zero(status));
    const auto stats = stats_lines(chat.err());
    REQUIRE(stats.size() == 2);
    CHECK(stats[0]["reused"] == 0);
    CHECK(stats[1]["reused"].get<int>() > 0);  // before the checkpoint: 0 (all or nothing)
    CHECK(stats[1]["reused"].get<int>() < stats[0]["context_used"].get<int>());
}

TEST_CASE("/save then /load gives back the conversation, and the next turn reuses the loaded cache") {
    if (ferry::test::vulkan_device() == nullptr) return;
    const std::string first = kTmp + "/chat_cli_first.json", second = kTmp + "/chat_cli_second.json";
    std::filesystem::remove(first);
    std::filesystem::remove(second);
    ChildProcess chat(chat_args({"-n", "6"}));
    chat.write("hello\n/save " + first + "\n/reset\n/load " + first + "\nagain\n/save " + second + "\n");
    chat.close_stdin();
    const int status = chat.wait_exit();
    INFO(chat.err());
    CHECK(exited_zero(status));

    const json a = read_json(first), b = read_json(second);
    CHECK(a["format"] == "ferry-chat");
    REQUIRE(a["messages"].size() == 2);
    CHECK(a["messages"][0]["role"] == "user");
    CHECK(a["messages"][0]["content"] == "hello");
    CHECK(a["messages"][1]["role"] == "assistant");
    REQUIRE(b["messages"].size() == 4);
    CHECK(b["messages"][0] == a["messages"][0]);
    CHECK(b["messages"][1] == a["messages"][1]);
    CHECK(b["messages"][2]["content"] == "again");

    // /load prefilled the saved conversation up to where the next user message's text
    // goes; "again" then ran only its own text and the assistant opening.
    const auto stats = stats_lines(chat.err());
    REQUIRE(stats.size() == 2);
    CHECK(chat.err().find("[loaded 2 messages") != std::string::npos);
    CHECK(stats[1]["reused"].get<int>() > stats[0]["context_used"].get<int>());
    CHECK(stats[1]["prefilled"] == count_tokens("again<|im_end|>\n<|im_start|>assistant\n"));
}

TEST_CASE("Ctrl-C stops the answer, keeps the session, and the next line is answered") {
    if (ferry::test::vulkan_device() == nullptr) return;
    // -n is far more than the test waits for: only SIGINT ends these answers.
    ChildProcess chat(chat_args({"-n", "3000", "--ctx", "4096"}));
    chat.write("tell me a long story\n");
    REQUIRE(chat.wait_until([&] { return !chat.out().empty(); }));
    REQUIRE(::kill(chat.pid(), SIGINT) == 0);
    REQUIRE(chat.wait_until([&] { return stats_lines(chat.err()).size() == 1; }));
    CHECK(chat.alive());
    CHECK(stats_lines(chat.err())[0]["stop"] == "interrupted");
    CHECK(chat.err().find("[stopped; the partial answer stays") != std::string::npos);

    const std::size_t shown = chat.out().size();
    chat.write("and then?\n");
    REQUIRE(chat.wait_until([&] { return chat.out().size() > shown; }));
    REQUIRE(::kill(chat.pid(), SIGINT) == 0);
    REQUIRE(chat.wait_until([&] { return stats_lines(chat.err()).size() == 2; }));
    const auto stats = stats_lines(chat.err());
    CHECK(stats[1]["stop"] == "interrupted");
    // The partial first answer stayed in the conversation and in the cache.
    CHECK(stats[1]["reused"] == stats[0]["context_used"]);

    chat.close_stdin();
    const int status = chat.wait_exit();
    INFO(chat.err());
    CHECK(exited_zero(status));
}

TEST_CASE("a full context drops the oldest turns with --drop-oldest, and refuses the turn without it") {
    if (ferry::test::vulkan_device() == nullptr) return;
    const std::string turns =
        "the first question is this one\nthe second question is this one\n"
        "the third question is this one\n";
    {
        ChildProcess chat(chat_args({"-n", "8", "--ctx", "64", "--drop-oldest"}));
        chat.write(turns);
        chat.close_stdin();
        const int status = chat.wait_exit();
        INFO(chat.err());
        CHECK(exited_zero(status));
        const auto stats = stats_lines(chat.err());
        REQUIRE(stats.size() == 3);
        CHECK(chat.err().find("chat: dropped the") != std::string::npos);
        for (const json& s : stats) CHECK(s["context_used"].get<int>() <= 64);
    }
    {
        ChildProcess chat(chat_args({"-n", "8", "--ctx", "64"}));
        chat.write(turns);
        chat.close_stdin();
        const int status = chat.wait_exit();
        INFO(chat.err());
        CHECK(exited_zero(status));
        CHECK(stats_lines(chat.err()).size() < 3);
        CHECK(chat.err().find("message not sent") != std::string::npos);
    }
}

TEST_CASE("an unknown --chat-template is an error that lists the names") {
    std::string err;
    const int rc = ferry::test::run_command(
        {FERRY_BIN, "chat", "-m", "/nonexistent.gguf", "--chat-template", "nope"}, &err);
    CHECK(rc == 1);
    CHECK(err.find("unknown chat template 'nope'") != std::string::npos);
    CHECK(err.find("qwen3") != std::string::npos);
}
