#pragma once
// Ends streamed text at the first stop text: a chat format's end-of-turn text ("<|im_end|>",
// "</s>") that a model spelled with ordinary tokens, or a request's `stop`. It works on the
// text, never on token ids, and holds back only the bytes that could be the start of a stop
// text split across tokens; the stop text itself is never passed on. `ferry chat` and
// `ferry serve` both use it.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::text {

// Length of the longest tail of `text` that is a proper prefix of `marker`.
std::size_t partial_tail(std::string_view text, std::string_view marker);

class StopTextFilter {
public:
    explicit StopTextFilter(std::vector<std::string> stop_texts);

    // Text that is safe to pass on now. After a stop text appeared, returns what came before
    // it and stopped() turns true; later pushes return nothing.
    std::string push(std::string_view text);
    // Whatever was held back (the answer ended some other way).
    std::string flush();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace ferry::text
