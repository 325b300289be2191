#pragma once
// Ends an answer at the first stop text (the request's `stop`, the chat format's end-of-turn
// texts spelled with ordinary tokens). Works on streamed text and holds back only the bytes
// that could start a stop text split across tokens; the stop text itself is never sent.
// (The same idea as app's StopTextFilter, which serve may not import: app sits above serve.)
#include <string>
#include <string_view>
#include <vector>

namespace ferry::serve {

class StopText {
public:
    explicit StopText(std::vector<std::string> stops);

    // Text safe to send now; after a stop text appears, what came before it, and stopped()
    // is true from then on (later pushes return nothing).
    std::string push(std::string_view text);
    std::string flush();  // what was held back, when the answer ends another way
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace ferry::serve
