#!/usr/bin/env bash
# Benchmarks vemu against native execution and qemu-x86_64 on the same guests, and prints
# one table (also written to bench/out/results.txt). Run from the repository root:
#   bash bench/run.sh
# Environment: BENCH_REPS (default 3) repetitions of each loop benchmark, median reported;
# HELLO_RUNS (default 30) start-ups of the hello guest, median reported; BENCH_GZIP_REPS
# (default 1) repetitions of the gzip row, the longest; BENCH_PIN_CPU (default 1) the CPU
# the pinned rows run on.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
out=$root/bench/out
reps=${BENCH_REPS:-3}
hello_runs=${HELLO_RUNS:-30}
limit=${BENCH_TIMEOUT:-300}

# Iteration counts, tuned so each run takes roughly 0.2-2 s natively or under vemu.
n_syscall=1000000
n_cpu=1000
n_vdso=5000000
n_sys_clock=300000
n_vsys=200000
n_gtod=300000
n_threads=1000    # threads alive at once
n_mprotect=2000   # pages of alternating permissions
n_mprotdown=32000 # pages made read-only one call each, every other one, from the top down
n_sbrk=4000       # heap growths of 132 KiB
n_maps=40000      # one-page mappings alive at once (the host allows vemu ~49,000)
n_futexes=2000    # threads waiting on futexes, woken one at a time
n_pipereaders=2000 # threads blocked reading one pipe, given a byte each
n_pollers=3000    # threads blocked in poll, each on an eventfd of its own, woken one by one
n_pollpong=20000  # round trips between two threads, each waiting in poll before its read
n_shmaps=16000    # one-page MAP_SHARED mappings alive at once, of a memfd and anonymous
n_bigunmap=1000   # 1 TiB mappings made, two pages touched, split and unmapped
n_rewrite=20000   # times a function's code is rewritten by a store and called again
n_handover=20000  # times a GIL-like lock changes hands between two threads, a third computing
n_mutex=20000     # increments per thread, 64 threads
n_pimutex=1000    # the same under a PI mutex, whose contended lock goes through the kernel each time
n_go=400          # Go jobs over 8 goroutines, GOMAXPROCS=4
n_gocpu=4000      # the same, timed from outside as CPU time
gzip_reps=${BENCH_GZIP_REPS:-1}
pin_cpu=${BENCH_PIN_CPU:-1}
# Memory-heavy rows: buffers far larger than the emulators' TLBs and the host's caches.
mem_mib=64        # the SHA-256 buffer, the pointer-chase array and the busybox input
n_sieve=33554432  # bytes of the sieve
copy_mib=32       # memcpy: two buffers of copy_mib MiB, copied n_copy times
n_copy=8
n_set=16          # memset of copy_mib MiB, n_set times
n_chase=1000000   # dependent loads through the mem_mib array
n_fpsse=10000000  # rounds of double and float arithmetic (SSE)
n_fpx87=300000    # rounds of long double expl, logl and powl (the x87)

log() { echo "bench: $*" >&2; }

# wanted LABEL: whether the row LABEL runs (BENCH_ONLY).
wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ $1 =~ $BENCH_ONLY ]]; }

mkdir -p "$out"

if ! command -v qemu-x86_64 >/dev/null; then
	log "qemu-x86_64 missing; running scripts/setup.sh --bench"
	bash scripts/setup.sh --bench || log "setup failed; the qemu column will read n/a"
fi
have_qemu=0
command -v qemu-x86_64 >/dev/null && have_qemu=1

log "building vemu"
go build -o "$out/vemu" ./cmd/vemu

log "building guests"
for g in syscall cpu hello vdso cliffs mutex mem handover fp; do
	gcc -static -O2 -pthread -o "$out/$g" "bench/guests/$g.c" -lm
done
CGO_ENABLED=0 go build -o "$out/gothreads" ./bench/guests/gothreads
gcc -O2 -o "$out/spawn" bench/tools/spawn.c
gcc -O2 -o "$out/cputime" bench/tools/cputime.c
busybox=$(command -v busybox || true)
if [ -n "$busybox" ]; then
	busybox=$(readlink -f "$busybox")
	if [ ! -s "$out/input.txt" ] || [ "$(stat -c %s "$out/input.txt")" != $((mem_mib << 20)) ]; then
		log "writing the $mem_mib MiB input of the busybox rows"
		"$out/mem" gen "$out/input.txt" $mem_mib
	fi
fi

# runner NAME -> the command prefix for that column.
prefix() {
	case $1 in
	native) echo "" ;;
	vemu) echo "$out/vemu run" ;;
	qemu) echo "qemu-x86_64" ;;
	vemucover) echo "$out/vemu run --cover=$out/cover.drcov" ;;
	esac
}

is_number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# median of numbers on stdin
median() {
	sort -g | awk '{v[NR]=$1} END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'
}

# wrap: a command put before every measured command (taskset for the pinned rows, the
# cputime tool for the rows timed from outside).
wrap=()

# measure RUNNER GUEST ARGS... -> median over $reps of the first field the guest prints,
# "n/a" if the guest says so, or "fail". A second field (a checksum) is saved in
# $out/check.RUNNER; it must be the same in every repetition.
measure() {
	local runner=$1
	shift
	rm -f "$out/check.$runner"
	if [ "$runner" = qemu ] && [ $have_qemu = 0 ]; then
		echo n/a
		return
	fi
	local pre vals=() i o v c
	pre=$(prefix "$runner")
	for ((i = 0; i < reps; i++)); do
		# shellcheck disable=SC2086
		if ! o=$(timeout "$limit" "${wrap[@]}" $pre "$@" 2>"$out/last.err"); then
			log "$runner $* failed: $(head -c 300 "$out/last.err" | tr '\n' ' ')"
			echo fail
			return
		fi
		v=$(printf '%s\n' "$o" | tail -n 1 | awk '{print $1}')
		if [ "$v" = n/a ]; then
			echo n/a
			return
		fi
		if ! is_number "$v"; then
			log "$runner $* printed unexpected output: $(printf '%s' "$o" | head -c 200)"
			echo fail
			return
		fi
		c=$(printf '%s\n' "$o" | tail -n 1 | awk '{print $2}')
		if [ -n "$c" ]; then
			if [ -f "$out/check.$runner" ] && [ "$(cat "$out/check.$runner")" != "$c" ]; then
				log "$runner $*: checksum changed between runs"
				echo fail
				return
			fi
			echo "$c" >"$out/check.$runner"
		fi
		vals+=("$v")
	done
	printf '%s\n' "${vals[@]}" | median
}

# startup RUNNER PROGRAM -> "ms kib" medians over $hello_runs start-ups of PROGRAM, or
# "fail fail".
startup() {
	local runner=$1 prog=$2 pre o
	if [ "$runner" = qemu ] && [ $have_qemu = 0 ]; then
		echo "n/a n/a"
		return
	fi
	pre=$(prefix "$runner")
	# shellcheck disable=SC2086
	if o=$(timeout "$limit" "$out/spawn" "$hello_runs" $pre "$prog" 2>"$out/last.err"); then
		echo "$o"
	else
		log "$runner $prog failed: $(head -c 300 "$out/last.err" | tr '\n' ' ')"
		echo "fail fail"
	fi
}

ratio() {
	if is_number "$1" && is_number "$2" && awk -v b="$2" 'BEGIN{exit !(b > 0)}'; then
		awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2fx", a / b}'
	else
		echo "-"
	fi
}

fmt() {
	if is_number "$1"; then
		awk -v a="$1" -v d="$2" 'BEGIN{printf "%.*f", d, a}'
	else
		echo "$1"
	fi
}

rows=()
# row LABEL UNIT DECIMALS NATIVE VEMU QEMU
row() {
	rows+=("$(printf '%-44s %-5s %10s %10s %10s %11s %11s %9s' "$1" "$2" \
		"$(fmt "$4" "$3")" "$(fmt "$5" "$3")" "$(fmt "$6" "$3")" \
		"$(ratio "$5" "$4")" "$(ratio "$6" "$4")" "$(ratio "$5" "$6")")")
}

# bench LABEL UNIT DECIMALS GUEST ARGS...
bench() {
	local label=$1 unit=$2 dec=$3 r
	shift 3
	wanted "$label" || return 0
	local -A res
	for r in native vemu qemu; do
		log "$label: $r"
		res[$r]=$(measure "$r" "$@")
	done
	# An emulator that computes a different checksum than native did not run the guest right.
	for r in vemu qemu; do
		if [ -f "$out/check.native" ] && [ -f "$out/check.$r" ] &&
			! cmp -s "$out/check.native" "$out/check.$r"; then
			log "$label: $r checksum $(cat "$out/check.$r") differs from native $(cat "$out/check.native")"
			res[$r]=fail
		fi
	done
	rm -f "$out"/check.*
	row "$label" "$unit" "$dec" "${res[native]}" "${res[vemu]}" "${res[qemu]}"
}

bench "getpid, raw syscall" ns 1 "$out/syscall" $n_syscall
wrap=(taskset -c "$pin_cpu")
bench "getpid, raw syscall (pinned)" ns 1 "$out/syscall" $n_syscall
wrap=()
bench "clock_gettime, libc (vDSO)" ns 1 "$out/vdso" vdso $n_vdso
wrap=(taskset -c "$pin_cpu")
bench "clock_gettime, libc (vDSO) (pinned)" ns 1 "$out/vdso" vdso $n_vdso
wrap=()
# percall LABEL GUEST ARGS... -- N: CPU time of one call, from the CPU time of whole runs
# of N and 5N calls (cputime -q), so that start-up and exit cancel out.
percall() {
	local label=$1 r a b
	shift
	wanted "$label" || return 0
	local args=("${@:1:$#-2}") n=${!#}
	local -A res
	wrap=("$out/cputime" -q)
	for r in native vemu qemu; do
		log "$label: $r"
		a=$(measure "$r" "${args[@]}" "$n")
		b=$(measure "$r" "${args[@]}" $((5 * n)))
		if is_number "$a" && is_number "$b"; then
			res[$r]=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN{printf "%.3f", (b - a) * 1e6 / (4 * n)}')
		else
			res[$r]=$b
		fi
	done
	wrap=()
	row "$label" ns 1 "${res[native]}" "${res[vemu]}" "${res[qemu]}"
}
percall "getpid, raw syscall (cpu per call)" "$out/syscall" -- $n_syscall
percall "clock_gettime, libc (vDSO) (cpu per call)" "$out/vdso" vdso -- $n_vdso
bench "clock_gettime, raw syscall" ns 1 "$out/vdso" sys $n_sys_clock
bench "gettimeofday, vsyscall page" ns 1 "$out/vdso" vsys $n_vsys
bench "gettimeofday, raw syscall" ns 1 "$out/vdso" gtod $n_gtod
bench "cpu loop ($n_cpu rounds)" ms 1 "$out/cpu" $n_cpu
bench "$n_threads threads alive at once" ms 1 "$out/cliffs" threads $n_threads
bench "mprotect $n_mprotect pages alternately" ms 1 "$out/cliffs" mprotect $n_mprotect
bench "mprotect $n_mprotdown pages from the top down" ms 1 "$out/cliffs" mprotectdown $n_mprotdown
bench "sbrk 132 KiB x $n_sbrk" ms 1 "$out/cliffs" sbrk $n_sbrk
bench "$n_maps one-page mappings" ms 1 "$out/cliffs" maps $n_maps
bench "$n_futexes futex waiters, one futex each" ms 1 "$out/cliffs" futexes $n_futexes
bench "$n_futexes waiters on one futex, woken singly" ms 1 "$out/cliffs" wakeone $n_futexes
bench "$n_shmaps one-page MAP_SHARED mappings" ms 1 "$out/cliffs" shmaps $n_shmaps
# qemu-x86_64 walks its page flags over the whole range (56 s for one round): not run.
saved_qemu=$have_qemu
have_qemu=0
bench "1 TiB mapped, split, unmapped x $n_bigunmap" ms 1 "$out/cliffs" bigunmap $n_bigunmap
have_qemu=$saved_qemu
bench "$n_pipereaders threads blocked reading one pipe" ms 1 "$out/cliffs" pipereaders $n_pipereaders
bench "$n_pollers threads blocked in poll, woken singly" ms 1 "$out/cliffs" pollers $n_pollers
bench "poll ping-pong between two threads (per round trip)" ns 0 "$out/cliffs" pollpong $n_pollpong
bench "GIL-like hand-over, a 3rd thread computing" ns 0 "$out/handover" $n_handover
bench "code rewritten by a store, then run (per round)" ns 0 "$out/cliffs" rewrite $n_rewrite
bench "64 threads: mutex+atomic x $n_mutex" ms 1 "$out/mutex" 64 $n_mutex
bench "64 threads: PI mutex+atomic x $n_pimutex" ms 1 "$out/mutex" 64 $n_pimutex pi
bench "Go, GOMAXPROCS=4, $n_go jobs" ms 1 "$out/gothreads" $n_go

# Memory-heavy work, timed from outside as CPU time (user + system of the whole process:
# translation, the emulator's threads and start-up included), which a loaded machine
# disturbs far less than wall time.
wrap=("$out/cputime")
bench "SHA-256 of $mem_mib MiB (cpu)" ms 0 "$out/mem" sha256 $mem_mib
bench "sieve of $n_sieve bytes (cpu)" ms 0 "$out/mem" sieve $n_sieve
bench "memcpy $copy_mib MiB x $n_copy (cpu)" ms 0 "$out/mem" memcpy $copy_mib $n_copy
bench "memset $copy_mib MiB x $n_set (cpu)" ms 0 "$out/mem" memset $copy_mib $n_set
bench "pointer chase, $mem_mib MiB x $n_chase (cpu)" ms 0 "$out/mem" chase $mem_mib $n_chase
bench "double/float arithmetic x $n_fpsse (cpu)" ms 0 "$out/fp" sse $n_fpsse
bench "long double expl/logl/powl x $n_fpx87 (cpu)" ms 0 "$out/fp" x87 $n_fpx87
if [ -n "$busybox" ]; then
	bench "busybox sha256sum $mem_mib MiB (cpu)" ms 0 "$busybox" sha256sum "$out/input.txt"
	saved_reps=$reps
	reps=$gzip_reps
	bench "busybox gzip $mem_mib MiB (cpu)" ms 0 "$busybox" gzip -c "$out/input.txt"
	reps=$saved_reps
fi
# Threads against one thread: the same Go work at GOMAXPROCS 4 and 1, and the CPU loop.
bench "Go, GOMAXPROCS=4, $n_gocpu jobs (cpu)" ms 0 "$out/gothreads" $n_gocpu 4
bench "Go, GOMAXPROCS=1, $n_gocpu jobs (cpu)" ms 0 "$out/gothreads" $n_gocpu 1
bench "cpu loop, $n_cpu rounds (cpu)" ms 0 "$out/cpu" $n_cpu sum
wrap=()

# startups LABEL PROGRAM: rows for start-up time and peak RSS of PROGRAM.
startups() {
	local label=$1 prog=$2 r
	wanted "$label start-up" || return 0
	local -A ms kib
	for r in native vemu qemu; do
		log "$label start-up: $r"
		read -r ms[$r] kib[$r] < <(startup "$r" "$prog")
		if is_number "${kib[$r]}"; then
			kib[$r]=$(awk -v k="${kib[$r]}" 'BEGIN{printf "%.3f", k / 1024}')
		fi
	done
	row "$label start-up (median of $hello_runs)" ms 2 "${ms[native]}" "${ms[vemu]}" "${ms[qemu]}"
	row "$label peak RSS (median of $hello_runs)" MiB 2 "${kib[native]}" "${kib[vemu]}" "${kib[qemu]}"
}
startups hello "$out/hello"
# A dynamically linked program: ld.so, libc.so.6 and the program mapped from files.
startups "/bin/true (dynamic)" /bin/true

# The cost of guest coverage (--cover: AFL-style edges and the blocks run, from a block
# hook in C): the CPU loop, whose blocks are short, is the worst case. The "native"
# column is vemu without coverage here.
if wanted "cpu loop: vemu, then --cover"; then
	log "cpu loop, coverage: vemu, vemu --cover"
	plain=$(measure vemu "$out/cpu" $n_cpu)
	covered=$(measure vemucover "$out/cpu" $n_cpu)
	rm -f "$out"/check.*
	row "cpu loop: vemu, then --cover" ms 1 "$plain" "$covered" n/a
fi

# Repeated runs in-process (vemutest.Prepared: a snapshot after exec, restored for each
# run on an engine that keeps the code it translated) against fork+exec+wait natively.
if wanted "hello, repeated runs"; then
	log "repeated runs: go test -bench RepeatedRun ./vemutest"
	rr=$(go test -run '^$' -bench '^BenchmarkRepeatedRun$' -benchtime "${REPEAT_RUNS:-2000}x" ./vemutest 2>"$out/last.err" |
		grep '^BenchmarkRepeatedRun' || true)
	metric() { printf '%s\n' "$rr" | awk -v m="$1" '{for (i = 2; i <= NF; i++) if ($i == m) print $(i-1)}'; }
	row "hello, repeated runs (higher: better)" run/s 0 "$(metric native-runs/s)" "$(metric runs/s)" n/a
	row "hello, repeated runs: vemu, then covered" run/s 0 "$(metric runs/s)" "$(metric covered-runs/s)" n/a
fi

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
qemu_version=n/a
[ $have_qemu = 1 ] && qemu_version=$(qemu-x86_64 --version | head -n 1)
{
	echo "vemu benchmarks — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, Linux $(uname -r)"
	echo "tools:   $(go version | awk '{print $3}'), $(gcc --version | head -n 1), $qemu_version"
	echo "loops: median of $reps runs; per-call times and cpu ms are measured by the guest itself"
	echo
	printf '%-44s %-5s %10s %10s %10s %11s %11s %9s\n' benchmark unit native vemu qemu vemu/native qemu/native vemu/qemu
	printf '%s\n' "${rows[@]}"
} | tee "$out/results.txt"
