#!/bin/sh
# The browser tests (tests/browser/) drive Debian's Chromium through Playwright; Playwright's own
# browser download cannot reach its CDN from these machines, so the system package is used instead.
# Idempotent: does nothing when /usr/bin/chromium (or $WORKBOOKS_CHROMIUM) is already there.
set -eu
CHROMIUM="${WORKBOOKS_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium and set WORKBOOKS_CHROMIUM to its path" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: $CHROMIUM is missing; install it once with: sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests (apt-get, once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "error: apt-get installed chromium but $CHROMIUM is still missing" >&2; exit 1; }
