#!/usr/bin/env bash
# setup.sh installs what vemu needs on a Debian 12 machine that has only Go and gcc:
# libunicorn 2.1.1 (from Debian 13, pinned low so nothing else moves), musl-tools and
# busybox-static for the test guests, strace to compare system call classes and injection
# with, and qemu-user for the benchmarks (with --bench).
# It is idempotent: packages already present are left alone.
set -euo pipefail

want_bench=0
[ "${1:-}" = "--bench" ] && want_bench=1

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

have_unicorn() {
	dpkg-query -W -f='${Version}' libunicorn-dev 2>/dev/null | grep -q '^2\.1\.'
}

missing=()
have_unicorn || missing+=(unicorn)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v strace >/dev/null || missing+=(strace)
if [ $want_bench = 1 ]; then
	command -v qemu-x86_64 >/dev/null || missing+=(qemu-user)
fi
[ ${#missing[@]} = 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

if ! have_unicorn; then
	# Debian 13 (trixie) beside the machine's own suite, from the same mirror, pinned at
	# priority 100 so only what we ask for by name comes from it.
	src=/etc/apt/sources.list.d/debian.sources
	mirror=http://deb.debian.org/debian
	if [ -f "$src" ]; then
		m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$src")
		[ -n "$m" ] && mirror=$m
	fi
	if [ ! -f /etc/apt/sources.list.d/vemu-trixie.sources ]; then
		$SUDO tee /etc/apt/sources.list.d/vemu-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		$SUDO tee /etc/apt/preferences.d/vemu-trixie >/dev/null <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
	fi
fi

$SUDO apt-get update -qq
pkgs=()
for m in "${missing[@]}"; do
	case $m in
	unicorn) ;;
	*) pkgs+=("$m") ;;
	esac
done
if [ ${#pkgs[@]} -gt 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
if ! have_unicorn; then
	$SUDO apt-get install -y -qq --no-install-recommends -t trixie libunicorn-dev >/dev/null
fi
have_unicorn || { echo "setup: libunicorn-dev 2.1 did not install" >&2; exit 1; }
