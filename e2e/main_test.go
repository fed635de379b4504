// Package e2e runs guest programs natively and under vemu and compares what they do.
package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Paths set up once by TestMain.
var (
	repoRoot string // the module root
	outDir   string // testdata/out, holding the built guests
	vemuBin  string // the vemu binary built for this run
	scratch  string // a directory for files shared by tests
)

// busybox is the static busybox used for applet cases.
const busybox = "/bin/busybox"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	outDir = filepath.Join(root, "testdata", "out")

	scratch, err = os.MkdirTemp("", "vemu-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(scratch)

	start := time.Now()
	if bin := os.Getenv("VEMU_E2E_BIN"); bin != "" {
		// A prebuilt binary, for running the suite against a release or a stand-in.
		vemuBin, err = filepath.Abs(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	} else {
		vemuBin = filepath.Join(scratch, "vemu")
		if out, err := command(root, "go", "build", "-o", vemuBin, "vemu/cmd/vemu"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building vemu failed: %v\n%s", err, out)
			return 1
		}
	}
	if out, err := command(root, "make", "-s", "-C", "testdata", "-j4"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the guests failed: %v\n%s", err, out)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built vemu and guests in %v\n", time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// moduleRoot returns the directory of the go.mod that holds this package.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// command runs name in dir and returns its combined output.
func command(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

// guest returns the path of a built guest program.
func guest(name string) string {
	return filepath.Join(outDir, name)
}

// strict reports whether known failures should fail the run instead of being skipped.
func strict() bool {
	return os.Getenv("VEMU_E2E_STRICT") != ""
}

// hasFile reports whether path exists.
func hasFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// mustWrite writes data to path with the given mode, failing the test on error.
func mustWrite(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
