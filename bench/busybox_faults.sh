#!/usr/bin/env bash
# Runs busybox applets (cp, tar, gzip, sort) under every single injected failure of read,
# write, openat and close, and prints what each applet did under each (a clean failure,
# a crash, a silent success, a failure without a message, a partial output). The test
# suite runs the first three occurrences of each call; this runs them all. From the
# repository root:
#   bash bench/busybox_faults.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VEMU_FAULTS_FULL=1 go test -count=1 -run '^TestBusyboxFaults$' -v ./vemutest |
	sed -n 's/^ *busybox_faults_test.go:[0-9]*: //p'
