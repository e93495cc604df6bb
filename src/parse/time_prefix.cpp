// The "starts with a recognised time" test of `multiline: auto` (declared in multiline.hpp): the
// plain-text detector's layouts and the named formats (syslog, klog, logcat, access logs), each
// tried only as far as its first bytes allow.
#include "parse/clf_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/multiline.hpp"
#include "parse/syslog_parser.hpp"
#include "parse/text_detect.hpp"

namespace sluice {

bool starts_with_recognised_time(std::string_view line) {
  TextLine text;
  if (detect_text_line(line, text)) return text.has_time;
  SyslogLine syslog;
  KlogLine klog;
  LogcatLine logcat;
  ClfLine clf;
  return (recognise_syslog(line, syslog) && syslog.has_time) || recognise_klog(line, klog) ||
         recognise_logcat(line, logcat) || recognise_clf(line, clf);
}

}  // namespace sluice
