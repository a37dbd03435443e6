#!/usr/bin/env bash
# Installs what building and testing Sabha needs on Debian 12: system packages (only the missing ones)
# and the Python virtualenv .venv for the end-to-end tests (pinned in Tests/e2e/requirements.txt).
# Safe to run again: it does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libsrtp2-dev libssl-dev libopus-dev libvpx-dev libsqlite3-dev libxml2 pkg-config
  chromium chromium-driver firefox-esr iproute2 nftables python3-venv janus
  # Tests/e2e/test_turn.py: the TURN relay, a test CA (openssl) and Chromium's NSS database that trusts it (certutil)
  coturn openssl libnss3-tools
  # Pages in Hindi and Odia (Tests/e2e/test_languages.py, its screenshots): Devanagari and Odia fonts for Chromium
  fonts-lohit-deva fonts-lohit-orya
  # The iMIP reply mailbox: Dovecot as a real IMAP server, started by the tests themselves (DovecotServer, Tests/e2e/imap_server.py)
  dovecot-imapd
  # Tests/e2e/test_monitoring.py: a real Prometheus scrapes Sabha, loads docs/monitoring/sabha-alerts.yml (promtool checks it)
  prometheus
  # Tests/RecordingTests: ffprobe reads the WebM files a recording writes, ffmpeg decodes every frame of them
  ffmpeg
  # tools/package-deb.sh and Tests/e2e/test_package_deb.py: the package's dependencies (dpkg-shlibdeps), strip,
  # RUNPATH=$ORIGIN for a debug build's bundled Swift runtime (patchelf), the unit checked (systemd-analyze) and its
  # man page found and rendered (man-db); libcurl's link-time library for the release build's static Foundation
  dpkg-dev binutils patchelf systemd man-db libcurl4-openssl-dev
  # The PostgreSQL store's tests start their own cluster with tools/dev/scratch-postgres.sh (psql comes with it)
  postgresql
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
  echo "setup: system packages present"
fi

PYTHON="${PYTHON:-python3}"
REQ="Tests/e2e/requirements.txt"
STAMP=".venv/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  echo "setup: installing Python packages from $REQ"
  .venv/bin/python -m pip install --disable-pip-version-check -q -r "$REQ" </dev/null
  echo "$want" > "$STAMP"
else
  echo "setup: .venv up to date"
fi
