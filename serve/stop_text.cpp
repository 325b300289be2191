#include "serve/stop_text.h"

#include <algorithm>
#include <utility>

namespace ferry::serve {

StopText::StopText(std::vector<std::string> stops) : stops_(std::move(stops)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopText::push(std::string_view text) {
    if (stopped_) return {};
    pending_ += text;
    // The earliest stop text wins.
    std::size_t cut = std::string::npos;
    for (const std::string& s : stops_) cut = std::min(cut, pending_.find(s));
    if (cut != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, cut);
        pending_.clear();
        return out;
    }
    // Hold back the longest tail of pending_ that is a proper prefix of some stop text.
    std::size_t hold = 0;
    for (const std::string& s : stops_) {
        const std::size_t most = std::min(s.size() - 1, pending_.size());
        for (std::size_t n = most; n > hold; --n)
            if (std::string_view(pending_).substr(pending_.size() - n) == std::string_view(s).substr(0, n)) {
                hold = n;
                break;
            }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopText::flush() {
    if (stopped_) return {};
    return std::exchange(pending_, {});
}

}  // namespace ferry::serve
