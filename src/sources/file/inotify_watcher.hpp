#pragma once
// Change notification for the file source: inotify watches on tailed files (their inode, through
// symlinks) and on the directories new files can appear in. Only a hint to look again: the source
// also rescans on a timer, so a missing watch (limit reached, no inotify) costs latency, not data.
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice {

class InotifyWatcher {
 public:
  InotifyWatcher();
  ~InotifyWatcher();
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  [[nodiscard]] bool available() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }

  // A watch on the file (following symlinks); -1 when none could be added (limit reached).
  // Watches are counted: the same inode watched twice gets the same descriptor.
  int watch_file(const std::string& path);
  // Directories to watch for new files; replaces the previous set.
  void watch_dirs(const std::vector<std::string>& dirs);
  void unwatch(int wd);

  struct Changes {
    std::vector<int> files;  // watch descriptors of files that changed
    bool rescan = false;     // a watched directory changed, or events were lost
  };
  // Reads every pending event without blocking.
  Changes drain();

 private:
  int fd_ = -1;
  std::unordered_map<int, int> file_refs_;        // wd → number of tailed files using it
  std::unordered_map<std::string, int> dir_wds_;  // watched directory → wd
  std::unordered_map<int, bool> dir_set_;         // wd → is a directory watch
};

}  // namespace sluice
