#!/usr/bin/env bash
# Installs what Tenet needs on a fresh Debian 12 machine, and only what is missing:
# the kernel tools (iproute2, nftables, ping, conntrack, iperf3, nsenter, tc), scapy
# for the crafted-traffic tests (issue 7), openssl (the
# controller signs its TLS certificates with it), curl, the reference CNI plugins and
# podman with runc (issue 9: the tests configure their own podman privately), dig
# (bind9-dnsutils, the DNS tests of issue 10), dnsmasq (dnsmasq-base: no service is started;
# the DNS upstream test and benchmark run it in lab namespaces) and the locked npm
# dependencies. etcd-server (issue 11): the store tests and the etcd lab start their own
# etcd members on loopback ports; the package's own service is never started by Tenet.
# Safe to run again; `make run` and `make test` both call it.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PKG_FOR=([ip]=iproute2 [bridge]=iproute2 [nft]=nftables [ping]=iputils-ping \
  [conntrack]=conntrack [iperf3]=iperf3 [nsenter]=util-linux [openssl]=openssl [make]=make [g++]=g++ [python3]=python3 [tc]=iproute2 \
  [dockerd]=docker.io [busybox]=busybox-static [curl]=curl [podman]=podman [runc]=runc [conmon]=conmon [dig]=bind9-dnsutils [dnsmasq]=dnsmasq-base [dhclient]=isc-dhcp-client \
  [etcd]=etcd-server)
missing=()
for cmd in "${!PKG_FOR[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG_FOR[$cmd]}")
done
# The anti-spoofing test runs scapy under the system's interpreter (/usr/bin/python3).
# The CNI plugin is a C forwarder (built with the cc that g++ brings) or a shell script over curl; its tests chain the reference plugins.
[ -x /usr/lib/cni/tuning ] || missing+=(containernetworking-plugins)
/usr/bin/python3 -c 'import scapy' >/dev/null 2>&1 || missing+=(python3-scapy)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "install-deps: installing $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; refresh them once before installing.
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# npm ci only when the lockfile changed since the last install (it takes a minute: the
# SQLite binding is compiled here, no prebuilt binary is downloaded).
stamp=node_modules/.tenet-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
