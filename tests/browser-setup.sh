#!/usr/bin/env bash
# The browser the console's end-to-end test drives (tests/console.rs): Debian's Chromium and its
# WebDriver server. Installs them with apt-get only when one is missing, so a warm machine runs
# nothing; prints the versions either way.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "browser-setup: ${missing[*]} missing; install them as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "browser-setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's chromium wrapper script prints shell noise on some machines; only its last line counts.
chromium --version 2>/dev/null | tail -n 1
chromedriver --version
