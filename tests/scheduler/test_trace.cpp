// Trace reading (both layouts), the compact round trip, and clear errors for bad input.
#include "scheduler/error.h"
#include "scheduler/trace.h"

#include <doctest/doctest.h>

#include <sstream>
#include <vector>
#include <string>

using namespace ferry::scheduler;

namespace {
std::string trace_path(const char* file) { return std::string(FERRY_SHARED_DATA_DIR) + "/traces/" + file; }

Trace parse(const std::string& text) {
    std::istringstream in(text);
    return read_trace(in, "t.jsonl");
}

const char* kHeader =
    R"({"format":"moe-routing-trace/v1","model":"m","n_layers":2,"n_experts":4,"top_k":2,"layers":[0,1],"aligned":true})";
}  // namespace

TEST_CASE("the shared traces read with their headers' shapes") {
    const Trace mix = read_trace(trace_path("mixtral-8x7b_humaneval0_prefill-decode.jsonl"));
    CHECK(mix.n_layers() == 32);
    CHECK(mix.info().n_experts == 8);
    CHECK(mix.n_tokens() == 218);
    CHECK(mix.n_entries() == 6976 - 130);  // 130 null entries skipped
    CHECK(mix.info().cross_layer.size() == 32);

    const Trace dec = read_trace(trace_path("mixtral-8x7b_humaneval1_decode.jsonl"));
    // Not aligned: only the 12 complete layers may be used across layers.
    CHECK(dec.info().cross_layer == std::vector<std::uint32_t>{1, 4, 5, 8, 10, 12, 18, 24, 26, 28, 30, 31});
    CHECK_FALSE(dec.geometry().aligned(0, 1));
    CHECK(dec.geometry().aligned(4, 5));

    const Trace qwen = read_trace(trace_path("qwen1.5-moe-a2.7b_gsm8k25_5layers_batched.jsonl"));
    CHECK(qwen.info().layers == std::vector<std::uint32_t>{0, 8, 12, 18, 23});
    CHECK(qwen.n_tokens() == 4357);
    CHECK(qwen.info().batched);
    const auto first = qwen.at(0, 0);
    REQUIRE(first.size() == 4);
    CHECK(first[0].expert == 33);
    CHECK(first[0].weight == doctest::Approx(0.13273));
}

TEST_CASE("compact layout round-trips to the identical trace") {
    for (const char* file : {"mixtral-8x7b_humaneval1_decode.jsonl", "olmoe-1b-7b_gsm8k25_layer0_batched.jsonl"}) {
        const Trace original = read_trace(trace_path(file));
        std::stringstream buffer;
        write_trace(buffer, original);
        const Trace back = read_trace(buffer, "roundtrip");
        CHECK(back == original);
        // And a second generation is byte-identical.
        std::stringstream again;
        write_trace(again, back);
        CHECK(again.str() == buffer.str());
    }
}

TEST_CASE("null entries are missing, not empty choices") {
    const Trace t = parse(std::string(kHeader) + "\n" + R"({"experts":[[0,1],null],"weights":[[0.6,0.4],null]})" + "\n");
    CHECK(t.has(0, 0));
    CHECK_FALSE(t.has(0, 1));
    CHECK(t.n_entries() == 1);
}

TEST_CASE("malformed traces give one clear error naming file and line") {
    const std::string h = std::string(kHeader) + "\n";
    CHECK_THROWS_WITH_AS(parse(""), "t.jsonl: empty trace file", Error);
    CHECK_THROWS_WITH_AS(parse("{\"format\":\"x\",\"n_experts\":4,\"top_k\":2,\"layers\":[0]}\n"),
                         doctest::Contains("unknown trace format \"x\""), Error);
    CHECK_THROWS_WITH_AS(parse("{\"format\":\"moe-routing-trace/v1\",\"top_k\":2,\"layers\":[0]}\n"),
                         doctest::Contains("\"n_experts\""), Error);
    CHECK_THROWS_WITH_AS(parse(h + "{not json\n"), "t.jsonl:2: not a JSON object", Error);
    CHECK_THROWS_WITH_AS(parse(h + R"({"experts":[[0,1]],"weights":[[0.5,0.5]]})" + "\n"),
                         doctest::Contains("t.jsonl:2: \"experts\" must be a list with one entry per header layer"),
                         Error);
    CHECK_THROWS_WITH_AS(parse(h + R"({"experts":[[0,9],[1,2]],"weights":[[0.5,0.5],[0.5,0.5]]})" + "\n"),
                         "t.jsonl:2: layer 0: expert id 9 is not in 0..3", Error);
    CHECK_THROWS_WITH_AS(parse(h + R"({"experts":[[0,0],[1,2]],"weights":[[0.5,0.5],[0.5,0.5]]})" + "\n"),
                         doctest::Contains("expert 0 is listed twice"), Error);
    CHECK_THROWS_WITH_AS(parse(h + R"({"experts":[[0,1],[1,2]],"weights":[[0.5],[0.5,0.5]]})" + "\n"),
                         doctest::Contains("weights must be a list as long as the expert list"), Error);
    CHECK_THROWS_WITH_AS(parse(h), "t.jsonl: trace has no routing records", Error);
    const std::string compact =
        R"({"format":"ferry-routing-trace/v1","n_experts":4,"top_k":2,"layers":[0,1],"cross_layer":[0,1]})"
        "\n";
    CHECK_THROWS_WITH_AS(parse(compact + "[0,2,[0,1],[0.5,0.5]]\n"), "t.jsonl:2: layer index 2 is not in 0..1", Error);
    CHECK_THROWS_WITH_AS(parse(compact + "[0,1,[0,1],[0.5,0.5]]\n[0,1,[0,1],[0.5,0.5]]\n"),
                         "t.jsonl:3: token 0 layer index 1 appears twice", Error);
    CHECK_THROWS_WITH_AS(read_trace(std::string("/nonexistent/trace.jsonl")),
                         "/nonexistent/trace.jsonl: cannot open trace file", Error);
}

TEST_CASE("compact lines may carry the predicted experts; readers replay the router's choice") {
    TraceInfo info;
    info.model = "m";
    info.n_experts = 4;
    info.top_k = 2;
    info.layers = {0, 1};
    info.cross_layer = {0, 1};
    std::stringstream buffer;
    TraceWriter writer(buffer, info);
    const std::vector<Choice> a{{1, 0.75f}, {3, 0.25f}}, b{{0, 0.5f}, {2, 0.5f}};
    const std::vector<std::uint32_t> predicted{3, 2};
    writer.write({0, 0, a});
    writer.write({0, 1, b}, predicted);
    const std::string text = buffer.str();
    CHECK(text.find("[0,1,[0,2],[0.5,0.5],[3,2]]") != std::string::npos);
    const Trace back = read_trace(buffer, "predicted");
    CHECK(back.at(0, 0)[0] == Choice{1, 0.75f});
    CHECK(back.at(0, 1)[1] == Choice{2, 0.5f});
    std::string header = text.substr(0, text.find('\n') + 1);
    CHECK_THROWS_WITH_AS(parse(header + "[0,0,[1,3],[0.5,0.5],7]\n"), doctest::Contains("predicted experts"), Error);
}
