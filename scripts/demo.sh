#!/usr/bin/env bash
# The README's first command: installs what is missing (apt packages, node_modules), builds, and
# runs the demo: a throwaway lab (two network namespaces, a real OpenVPN 2.6 server, a PKI made on
# the spot), ovpn-ts --check, a tunnel with ping and iperf3, then everything is removed.
# Run as root on Debian/Ubuntu. The host's own interfaces, routes and resolv.conf are never touched.
# Extra arguments go to the demo: --client stock|ovpn-ts, --profile NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (it creates network namespaces): sudo bash scripts/demo.sh" >&2
  exit 2
fi
bash scripts/setup.sh
exec node dist/scripts/demo.js "$@"
