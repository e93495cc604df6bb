// The "starts with a recognised time" test of `multiline: auto` (declared in multiline.hpp): the
// formats the plain-text recognisers know, each tried only as far as its first bytes allow.
#include "parse/clf_parser.hpp"
#include "parse/klog_parser.hpp"
#include "parse/logcat_parser.hpp"
#include "parse/multiline.hpp"
#include "parse/syslog_parser.hpp"

namespace sluice {

bool starts_with_recognised_time(std::string_view line) {
  SyslogLine syslog;
  KlogLine klog;
  LogcatLine logcat;
  ClfLine clf;
  return (recognise_syslog(line, syslog) && syslog.has_time) || recognise_klog(line, klog) ||
         recognise_logcat(line, logcat) || recognise_clf(line, clf);
}

}  // namespace sluice
