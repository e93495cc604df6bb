#pragma once
// Every component type this build knows, as descriptors (options/descriptor.hpp). The list itself
// is in component_list.cpp: adding a component is its folder, one line there, and its README
// table (scripts/readme_options.py).
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "options/descriptor.hpp"

namespace sluice {

// Sources, then transforms, then sinks, each in the order `sluice list` shows.
std::span<const ComponentDescriptor* const> component_list();

// The component of `kind` named `type`, or null.
const ComponentDescriptor* find_component(ComponentKind kind, std::string_view type);

// The types of one kind, in list order (for "known types: ..." and suggestions).
std::vector<std::string> component_types(ComponentKind kind);

// The sink answering SLUICE_SINKS URLs of `scheme`, or null.
const ComponentDescriptor* find_sink_scheme(std::string_view scheme);

}  // namespace sluice
