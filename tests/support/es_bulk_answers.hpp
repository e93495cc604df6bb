#pragma once
// Scripted `_bulk` answers for ScriptedHttpServer handlers in the Elasticsearch sink's tests.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "support/http_server.hpp"

namespace sluice::testing {

// A bulk answer with one item per status (errors: true when any is not 2xx).
std::string bulk_answer(const std::vector<int>& statuses, const std::string& action = "index");

// A handler answering 200 with a status per document, from a function of the document's text
// and the request's number (0-based, in arrival order).
std::function<Reply(const Received&)> per_doc(
    std::function<int(const std::string& doc, size_t request)> status);

}  // namespace sluice::testing
