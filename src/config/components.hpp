#pragma once
// The constructor of every component type, from its YAML mapping. Each is defined next to the
// component it builds; factory.cpp lists them in one table.
#include <memory>

#include "config/map_reader.hpp"
#include "parse/framer.hpp"
#include "sluice/sink.hpp"
#include "sluice/source.hpp"
#include "sluice/transform.hpp"

namespace sluice {

struct BuildContext;

std::unique_ptr<Source> make_stdin_source(MapReader& config, const FramerOptions& framer);
std::unique_ptr<Source> make_exec_source(MapReader& config, const FramerOptions& framer);

std::unique_ptr<Transform> make_filter_transform(MapReader& config);
std::unique_ptr<Transform> make_remap_transform(MapReader& config);

std::unique_ptr<Sink> make_file_sink(MapReader& config, const std::string& name,
                                     const BuildContext& context);
std::unique_ptr<Sink> make_stdout_sink(MapReader& config, const std::string& name,
                                       const BuildContext& context);

}  // namespace sluice
