package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLabSheet runs every command of docs/lab.md, so that the sheet never goes stale:
// each must succeed and print, in order, the lines shown after it. In those lines
// numbers stand for any number and "..." for anything, since addresses and times vary;
// a line of "..." alone stands for any lines. Commands run from a directory laid out as
// the repository (./vemu, testdata/out), and gdb's port 1234 becomes a free one.
func TestLabSheet(t *testing.T) {
	needGDB(t)
	sheet, err := os.ReadFile(filepath.Join(repoRoot, "docs", "lab.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil || !bytes.Contains(readme, []byte("docs/lab.md")) {
		t.Error("README.md does not link docs/lab.md")
	}
	steps := labSteps(string(sheet))
	exercises := regexp.MustCompile(`(?m)^## \d+\. `).FindAllString(string(sheet), -1)
	if len(exercises) < 10 || len(exercises) > 15 || len(steps) < len(exercises) {
		t.Fatalf("%d exercises, %d commands: want 10 to 15 exercises, each with a command", len(exercises), len(steps))
	}
	dir := t.TempDir()
	if err := os.Symlink(vemuBin, filepath.Join(dir, "vemu")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outDir, filepath.Join(dir, "testdata", "out")); err != nil {
		t.Fatal(err)
	}
	for i, st := range steps {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			out, err := runLabCommand(t, dir, st.cmd)
			if err != nil {
				t.Fatalf("$ %s\n%v\n%s", st.cmd, err, out)
			}
			if missing := matchInOrder(out, st.want); missing != "" {
				t.Errorf("$ %s\nno line matching %q in the output, in order:\n%s", st.cmd, missing, out)
			}
		})
	}
}

// labStep is one command of the sheet and the lines it shows after it.
type labStep struct {
	cmd  string
	want []string
}

// labSteps extracts the commands of the sheet's sh blocks.
func labSteps(sheet string) []labStep {
	var steps []labStep
	in := false
	for _, l := range strings.Split(sheet, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && strings.HasPrefix(l, "$ "):
			steps = append(steps, labStep{cmd: l[2:]})
		case in && len(steps) > 0:
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
		}
	}
	return steps
}

// runLabCommand runs cmd with bash in dir and returns its output; whatever it left
// running is ended with it.
func runLabCommand(t *testing.T, dir, cmd string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd = strings.ReplaceAll(cmd, "1234", port)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", cmd)
	c.Dir = dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	c.WaitDelay = time.Minute
	err = c.Run()
	if c.Process != nil {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	return out.String(), err
}

var (
	labNumber = regexp.MustCompile(`0x[0-9a-f]+|[0-9]+`)
	labSpace  = regexp.MustCompile(`\s+`)
)

// labPattern turns a line of the sheet into a regular expression.
func labPattern(line string) *regexp.Regexp {
	var b strings.Builder
	for i, part := range strings.Split(strings.TrimSpace(line), "...") {
		if i > 0 {
			b.WriteString(".*")
		}
		last := 0
		for _, m := range labNumber.FindAllStringIndex(part, -1) {
			b.WriteString(quoteSpaces(part[last:m[0]]))
			if strings.HasPrefix(part[m[0]:m[1]], "0x") {
				b.WriteString(`0x[0-9a-f]+`)
			} else {
				b.WriteString(`[0-9a-f]+`)
			}
			last = m[1]
		}
		b.WriteString(quoteSpaces(part[last:]))
	}
	return regexp.MustCompile(b.String())
}

func quoteSpaces(s string) string {
	parts := labSpace.Split(s, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, `\s+`)
}

// matchInOrder checks that each wanted line matches a line of out, in order; it
// returns the first that does not.
func matchInOrder(out string, want []string) string {
	lines := strings.Split(out, "\n")
	i := 0
	for _, w := range want {
		if strings.TrimSpace(w) == "..." || strings.TrimSpace(w) == "" {
			continue
		}
		re := labPattern(w)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			return w
		}
		i++
	}
	return ""
}
