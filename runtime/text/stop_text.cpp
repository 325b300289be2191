#include "text/stop_text.h"

#include <algorithm>

namespace ferry::text {

std::size_t partial_tail(std::string_view text, std::string_view marker) {
    if (marker.empty()) return 0;
    for (std::size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n)
        if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
    return 0;
}

StopTextFilter::StopTextFilter(std::vector<std::string> stop_texts) : stops_(std::move(stop_texts)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopTextFilter::push(std::string_view text) {
    if (stopped_) return {};
    pending_ += text;
    std::size_t first = std::string::npos;  // the earliest stop text wins
    for (const std::string& stop : stops_) first = std::min(first, pending_.find(stop));
    if (first != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, first);
        pending_.clear();
        return out;
    }
    std::size_t hold = 0;
    for (const std::string& stop : stops_) hold = std::max(hold, partial_tail(pending_, stop));
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopTextFilter::flush() {
    std::string out = stopped_ ? std::string() : std::move(pending_);
    pending_.clear();
    return out;
}

}  // namespace ferry::text
