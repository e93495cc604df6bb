#pragma once
// `sluice validate --deep`: after the config is valid, looks at what it will meet when it runs,
// without changing anything: the directories it writes to must be writable, and every network
// sink must answer (a TCP connection to a Kafka broker; an HTTP answer from an Elasticsearch
// endpoint, any status, `GET /` only).
#include <ostream>

#include "config/topology.hpp"
#include "options/build_context.hpp"

namespace sluice::cli {

constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: a network sink does not answer
constexpr int kExitCantCreate = 73;   // EX_CANTCREAT: a directory sluice writes to is not writable

// Prints one line per check to `out`; returns 0, kExitCantCreate or kExitUnavailable (the latter
// wins when both fail).
int deep_checks(const Topology& topology, const BuildContext& context, std::ostream& out);

}  // namespace sluice::cli
