#!/usr/bin/env bash
# The README's test command: set up (apt packages, npm ci, build), then run every test tier:
# unit, contract, loopback and the network-namespace interop tests against the real openvpn
# server. Run it as root (the netns tier creates network namespaces and TUN devices there;
# the host's own network is never touched).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/run-tests.mjs unit contract loopback netns
