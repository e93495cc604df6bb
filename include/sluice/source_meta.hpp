#pragma once
// What the encoder and field lookups need to know about the source a batch came from.
#include <string>

namespace sluice {

struct SourceMeta {
  std::string name;       // component name, emitted as `source`
  std::string host_name;  // emitted as `host.name`
  bool keep_raw = false;  // emit the raw line as `event.original`
};

}  // namespace sluice
