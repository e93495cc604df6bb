#!/usr/bin/env bash
# Prints the Debian packages that provide the shared libraries a binary links against, one per
# line, sorted: `ldd` names the libraries, `dpkg -S` their packages. deploy/Dockerfile installs
# exactly these in the runtime image, so a new dependency (librdkafka, ...) needs no edit there.
# Fails when a library belongs to no package: the runtime image would lack it.
set -euo pipefail

binary=${1:?usage: runtime-packages.sh BINARY}
status=0
packages=()
while read -r lib; do
  real=$(readlink -f "$lib")
  pkg=""
  # dpkg records a file under the path its package ships it at; with merged /usr that may be
  # the /lib or the /usr/lib spelling, of the symlink or of its target.
  for candidate in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
    if owner=$(dpkg -S "$candidate" 2>/dev/null); then
      pkg=${owner%%:*}
      break
    fi
  done
  if [ -z "$pkg" ]; then
    echo "runtime-packages: no Debian package provides $lib" >&2
    status=1
    continue
  fi
  packages+=("$pkg")
done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
[ ${#packages[@]} -eq 0 ] || printf '%s\n' "${packages[@]}" | sort -u
exit $status
