package vemutest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"vemu/vemutest"
)

// TestRunInRoot runs copyfile confined to a root: it copies a file inside the root,
// and a source named by its host path outside the root is not found.
func TestRunInRoot(t *testing.T) {
	data, err := os.ReadFile(copyfile)
	if err != nil {
		t.Skip("testdata/out/copyfile.glibc is not built (make guests)")
	}
	base := t.TempDir()
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "copyfile"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "src"), []byte("inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(base, "outside")
	if err := os.WriteFile(outside, []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := vemutest.Run(context.Background(), "/bin/copyfile", vemutest.Options{Root: root, Args: []string{"/src", "/dst"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("copy inside: %v, status %d, stderr %q", err, res.ExitCode, res.Stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "dst")); string(got) != "inside\n" {
		t.Errorf("the copy inside the root holds %q", got)
	}
	res, err = vemutest.Run(context.Background(), "/bin/copyfile", vemutest.Options{Root: root, Args: []string{outside, "/dst2"}})
	if err != nil || res.ExitCode == 0 {
		t.Fatalf("a source outside the root was copied: %v, status %d", err, res.ExitCode)
	}
	if _, err := os.Stat(filepath.Join(root, "dst2")); err == nil {
		t.Errorf("a destination was made from a source outside the root")
	}
}
