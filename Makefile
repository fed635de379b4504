# vemu: make run builds vemu and runs a bundled example; make test runs every test.
# Both install what is missing first (scripts/setup.sh: libunicorn 2.1.1, musl-tools,
# busybox-static; root and apt-get, as on a fresh Debian 12 machine).

GO ?= go

.PHONY: all setup build guests run test bench fuzz clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	$(GO) build -o vemu ./cmd/vemu

guests: setup
	$(MAKE) -s -C testdata

# The bundled example: a static C program built with glibc and with musl, and busybox.
run: build guests
	./vemu run testdata/out/hello.glibc from glibc
	./vemu run testdata/out/hello.musl from musl
	./vemu run --strace /bin/busybox echo "hello from busybox"
	./vemu run --stats testdata/out/time.musl > /dev/null

test: build guests
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 5m ./...

bench: build
	@bash scripts/setup.sh --bench
	bash bench/run.sh

# A few minutes of each fuzz target; not part of make test.
fuzz: setup
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 60s ./loader
	$(GO) test -run XXX -fuzz FuzzSyscall -fuzztime 60s ./kernel
	$(GO) test -run XXX -fuzz FuzzHandle -fuzztime 60s ./gdbstub

clean:
	rm -rf vemu testdata/out bench/out
