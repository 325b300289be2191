#pragma once
// The chat page served at GET /: one static HTML file with its script inline, compiled into
// the binary (chat_page.cpp), so `ferry serve` needs no files beside it.
#include <string_view>

namespace ferry::serve {

std::string_view chat_page_html();

}  // namespace ferry::serve
