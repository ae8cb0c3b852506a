#!/usr/bin/env bash
# Installs the Debian packages vserver needs; with --test also those its test suite and benchmarks need.
# Run as root (sudo bash scripts/install-deps.sh). Safe to run again.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (for example: sudo bash $0 $*)" >&2
  exit 1
fi

# runc/crun: OCI runtimes; busybox-static: the built-in template; iproute2, nftables: networking;
# util-linux, mount, procps: prlimit, nsenter, mount, ps; lxcfs: the guests' own figures in /proc;
# gcc, libc6-dev: the busybox template's static ping (built by npm run build)
packages=(runc crun busybox-static iproute2 nftables util-linux mount bsdutils procps lxcfs ca-certificates gcc libc6-dev)
if [ "${1:-}" = --test ]; then
  # debootstrap, debian-archive-keyring: Debian guests; tar, zstd, xz-utils, gzip: tarballs and export;
  # xfsprogs (mkfs.xfs, xfs_io): unify on XFS; e2fsprogs: the full-disk test; attr: xattrs in the
  # export test; iperf3: the network benchmark; prometheus: promtool checks the daemon's metrics
  packages+=(debootstrap debian-archive-keyring tar zstd xz-utils gzip xfsprogs e2fsprogs attr iperf3 prometheus)
  # acl (setfacl), libcap2-bin (setcap): the snapshot test's ACLs and file capabilities
  packages+=(acl libcap2-bin)
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
