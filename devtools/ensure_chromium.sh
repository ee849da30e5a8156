#!/bin/sh
# The survey page tests drive Debian's Chromium through Playwright (never a browser Playwright downloads:
# this network reaches Debian's and PyPI's registries only). Install it when it is missing and we may;
# otherwise stop here, before the suite, saying what to do.
set -e
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests (once)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    exit 0
fi
echo "error: $CHROMIUM is missing and cannot be installed here (not root, or no apt-get):" >&2
echo "  install Debian's 'chromium' package (apt-get install chromium), or set CHROMIUM_PATH" >&2
exit 1
