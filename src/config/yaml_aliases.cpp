#include "config/yaml_aliases.hpp"

#include <cstdint>
#include <unordered_map>

#include "options/map_reader.hpp"

namespace sluice {

namespace {

struct Size {
  size_t bytes = 0;
  size_t values = 0;
};

// Sums without overflow: the expansion of nested aliases grows exponentially.
size_t add_saturated(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

class AliasExpansion {
 public:
  AliasExpansion(const std::string& file, size_t text_bytes, const ConfigLimits& limits)
      : file_(file), limits_(limits), bytes_(text_bytes) {}

  // The size of `node` written out. A node met again is an alias: its whole size is added to
  // the running totals, which may not pass the limits. Recursion is bounded by the nesting
  // depth the prescan allowed.
  Size measure(const YAML::Node& node) {
    if (!node || node.IsNull()) return {1, 1};
    // Distinct nodes of one kind start at distinct places in the text (a block mapping starts
    // where its first key does); an alias shares its anchor's node.
    const size_t kind = node.IsScalar() ? 0 : node.IsMap() ? 1 : 2;
    const size_t key = static_cast<size_t>(node.Mark().pos) * 3 + kind;
    if (auto it = known_.find(key); it != known_.end()) {
      if (it->second.values == 0) fail(node, "an alias inside the value it refers to");
      bytes_ = add_saturated(bytes_, it->second.bytes);
      values_ = add_saturated(values_, it->second.values);
      if (bytes_ > limits_.max_bytes || values_ > limits_.max_values) {
        // Reported at the anchor: yaml-cpp keeps no position for the alias itself.
        fail(node, "aliases of this value expand the config beyond " +
                       std::to_string(limits_.max_bytes >> 20) + " MiB or " +
                       std::to_string(limits_.max_values) +
                       " values (the limits of a config file written out in full)");
      }
      return it->second;
    }
    if (node.IsScalar()) {
      Size size{node.Scalar().size() + 1, 1};
      known_.emplace(key, size);
      values_ = add_saturated(values_, 1);
      return size;
    }
    known_.emplace(key, Size{});  // in progress: values == 0 marks it
    values_ = add_saturated(values_, 1);
    Size size{1, 1};
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (node.IsMap()) {
        add(size, measure(it->first));
        add(size, measure(it->second));
      } else {
        add(size, measure(*it));
      }
    }
    known_[key] = size;
    return size;
  }

 private:
  static void add(Size& total, const Size& part) {
    total.bytes = add_saturated(total.bytes, part.bytes);
    total.values = add_saturated(total.values, part.values);
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    throw_at(file_, node.Mark(), message);
  }

  const std::string& file_;
  const ConfigLimits& limits_;
  size_t bytes_;       // the file's bytes plus what aliases add
  size_t values_ = 0;  // values of the config written out: each node, plus what aliases add
  std::unordered_map<size_t, Size> known_;
};

}  // namespace

void check_alias_expansion(const YAML::Node& root, const std::string& file, size_t text_bytes,
                           const ConfigLimits& limits) {
  AliasExpansion(file, text_bytes, limits).measure(root);
}

}  // namespace sluice
