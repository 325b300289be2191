#include "app/offload_report.h"

#include "base/units.h"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::app {

namespace {

double percent(std::uint64_t part, std::uint64_t whole) {
    return whole ? 100.0 * double(part) / double(whole) : 0.0;
}

}  // namespace

std::string offload_report(const offload::OffloadStats& st, std::uint64_t tokens) {
    const std::uint64_t uses = st.hits + st.misses, per = std::max<std::uint64_t>(1, tokens);
    std::string out =
        fmt::format("experts: {:.1f}% hits ({} of {}), {} uploaded ({} per token), stall {:.1f} ms/token\n",
                    percent(st.hits, uses), st.hits, uses, format_bytes(st.bytes_uploaded),
                    format_bytes(st.bytes_uploaded / per), 1e3 * st.stall_s / double(per));
    if (!st.layer_hits.empty()) {
        out += "hits by layer:";
        for (std::size_t l = 0; l < st.layer_hits.size(); ++l)
            out += fmt::format(" {:.0f}%", percent(st.layer_hits[l], st.layer_hits[l] + st.layer_misses[l]));
        out += "\n";
    }
    if (st.predicted > 0 || st.prefetched > 0)
        out += fmt::format("prefetch: {} experts ahead, {:.1f}% of them used; prediction recall {:.1f}%\n",
                           st.prefetched, percent(st.prefetch_used, st.prefetched),
                           percent(st.predicted_right, st.predicted));
    if (st.cpu_experts > 0)
        out += fmt::format("hybrid:  {} expert uses computed on the CPU ({:.1f}% of all)\n", st.cpu_experts,
                           percent(st.cpu_experts, st.hits + st.misses));
    if (st.page_faults > 0 || st.read_aheads > 0)
        out +=
            fmt::format("disk:    {} page faults while copying experts ({:.1f} ms), {} slices read ahead\n",
                        st.page_faults, 1e3 * st.fault_stall_s, st.read_aheads);
    if (st.link_s > 0)
        out += fmt::format("link:    measured {:.2f} GB/s over {} of uploads (GPU timestamps)\n",
                           double(st.link_bytes) / st.link_s / 1e9, format_bytes(st.link_bytes));
    return out;
}

}  // namespace ferry::app
