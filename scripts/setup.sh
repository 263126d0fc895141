#!/usr/bin/env bash
# Installs what ovpn-ts, its tests and its demo need on Debian/Ubuntu, then builds. The proxies
# (tinyproxy, dante-server, microsocks) are for the netns tests only; the tests start them inside
# the lab namespaces, and installing them here never starts them on the host.
# dnsmasq-base (the binary only: no service, no resolv.conf change) is the DNS responder of the
# DNS tests. systemd-resolved and openresolv are NOT installed: installing systemd-resolved turns
# the host's /etc/resolv.conf into a symlink to its stub, and openresolv hooks itself into the
# host's DHCP client and ifupdown. They are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into $OVTS_LAB_PKGS (default /opt/ovts-lab), with the libsystemd-shared of the same
# version; the tests run them from there in private mount namespaces (test/lab/dns-sandbox.ts).
# systemd is for `systemd-analyze verify` of packaging/ovpn-ts@.service (Debian 12's systemd package
# has no resolved; nothing is started: policy-rc.d).
# Idempotent: installs only missing apt packages, runs `npm ci` only without node_modules (or one without esbuild).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in openvpn iperf3 iproute2 nftables iputils-ping openssl tinyproxy dante-server microsocks dnsmasq-base dbus-daemon dbus-bin util-linux systemd; do
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
# Packages the DNS tests run unpacked, never installed (see above).
pkgs="${OVTS_LAB_PKGS:-/opt/ovts-lab}"
if [ ! -x "$pkgs/systemd-resolved/lib/systemd/systemd-resolved" ] || [ ! -x "$pkgs/openresolv/sbin/resolvconf" ] \
  || [ ! -d "$pkgs/libsystemd-shared/usr/lib" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: $pkgs is incomplete: run as root to unpack systemd-resolved and openresolv there" >&2
    exit 1
  fi
  [ "${#need[@]}" -gt 0 ] || apt-get update -qq
  ver="$(apt-cache policy systemd-resolved | awk '/Candidate:/ {print $2}')"
  tmp="$(mktemp -d)"
  (cd "$tmp" && chmod 777 . && apt-get download -qq "systemd-resolved=$ver" "libsystemd-shared=$ver" openresolv)
  for p in systemd-resolved libsystemd-shared openresolv; do
    rm -rf "${pkgs:?}/$p"
    mkdir -p "$pkgs/$p"
    dpkg-deb -x "$tmp/$p"_*.deb "$pkgs/$p"
  done
  rm -rf "$tmp"
  echo "setup: unpacked systemd-resolved $ver, libsystemd-shared $ver and openresolv into $pkgs"
fi
# A node_modules from before a new devDependency (esbuild bundles the CLI) is installed afresh.
[ -d node_modules ] && [ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
npm run build --silent
