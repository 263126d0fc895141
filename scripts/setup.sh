#!/usr/bin/env bash
# Installs what ovpn-ts, its tests and its demo need on Debian/Ubuntu, then builds. The proxies
# (tinyproxy, dante-server, microsocks) are for the netns tests only; the tests start them inside
# the lab namespaces, and installing them here never starts them on the host. systemd is for
# `systemd-analyze verify` of packaging/ovpn-ts@.service (nothing is started: policy-rc.d).
# Idempotent: installs only missing apt packages, runs `npm ci` only without node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in openvpn iperf3 iproute2 nftables iputils-ping openssl tinyproxy dante-server microsocks systemd; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages ${need[*]}: run as root (or install them) first" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  # The proxies are services in Debian: keep apt from starting them on the host (the tests run
  # them inside the lab namespaces only).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
