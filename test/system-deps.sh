#!/usr/bin/env bash
# The Debian packages the tests start for real: Prometheus and promtool (scrape and rule tests), rsyslogd
# with its TLS driver (a real syslog receiver), util-linux's `script` (a pseudo-terminal for the status
# line), a C compiler and libdeflate's headers (the gunzip addon). `make test` and CI call this: what is
# missing is installed when this user may (root, or sudo without a password); otherwise it stops at once
# with one line naming the packages and the command.
set -euo pipefail

need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
compgen -G '/usr/lib/*/rsyslog/lmnsd_gtls.so' >/dev/null || [ -e /usr/lib/rsyslog/lmnsd_gtls.so ] || need+=(rsyslog-gnutls)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The libdeflate addon the build compiles (native/gunzip.c), which test/workers/inflate.test.ts requires.
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/libdeflate.h ] || need+=(libdeflate-dev)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "make test needs the Debian packages ${need[*]}: run  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "installing the Debian packages the tests use: ${need[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
