package vdsoimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func build(t *testing.T) *Image {
	t.Helper()
	im, err := Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func parse(t *testing.T, im *Image) *elf.File {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(im.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var wantFuncs = []string{"clock_gettime", "gettimeofday", "time", "clock_getres", "getcpu"}

func TestBuildDeterministic(t *testing.T) {
	a, b := build(t), build(t)
	if !bytes.Equal(a.Bytes, b.Bytes) {
		t.Fatal("two builds differ")
	}
	if len(a.Bytes)%PageSize != 0 {
		t.Errorf("image is %d bytes, not a multiple of %d", len(a.Bytes), PageSize)
	}
	other, err := Build(Options{LinuxVersion: 5<<16 | 15<<8})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.BuildID, other.BuildID) {
		t.Error("images with different notes have the same build id")
	}
}

func TestELFHeaderAndSegments(t *testing.T) {
	im := build(t)
	f := parse(t, im)
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 {
		t.Fatalf("header: %v %v %v %v", f.Class, f.Data, f.Type, f.Machine)
	}
	var types []elf.ProgType
	for _, p := range f.Progs {
		types = append(types, p.Type)
		switch p.Type {
		case elf.PT_LOAD:
			if p.Off != 0 || p.Vaddr != 0 || p.Filesz != uint64(len(im.Bytes)) || p.Memsz != p.Filesz || p.Flags != elf.PF_R|elf.PF_X {
				t.Errorf("PT_LOAD = %+v, want the whole image at 0, R+X", p.ProgHeader)
			}
		case elf.PT_DYNAMIC, elf.PT_NOTE, elf.PT_GNU_EH_FRAME:
			if p.Off != p.Vaddr || p.Off+p.Filesz > uint64(len(im.Bytes)) || p.Flags != elf.PF_R {
				t.Errorf("%v = %+v", p.Type, p.ProgHeader)
			}
		}
	}
	want := []elf.ProgType{elf.PT_LOAD, elf.PT_DYNAMIC, elf.PT_NOTE, elf.PT_GNU_EH_FRAME}
	if len(types) != len(want) {
		t.Fatalf("program headers %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("program headers %v, want %v", types, want)
		}
	}
	for _, name := range sectionNames[1:] {
		if f.Section(name) == nil {
			t.Errorf("no section %s", name)
		}
	}
	text := f.Section(".text")
	if text.Offset != im.TextOffset || text.Size != im.TextSize || text.Flags != elf.SHF_ALLOC|elf.SHF_EXECINSTR {
		t.Errorf(".text = %+v, image says %#x+%#x", text.SectionHeader, im.TextOffset, im.TextSize)
	}
}

func TestDynamic(t *testing.T) {
	f := parse(t, build(t))
	so, err := f.DynString(elf.DT_SONAME)
	if err != nil || len(so) != 1 || so[0] != "linux-vdso.so.1" {
		t.Errorf("DT_SONAME = %q, %v", so, err)
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_SYMTAB, elf.DT_STRTAB,
		elf.DT_STRSZ, elf.DT_SYMENT, elf.DT_VERSYM, elf.DT_VERDEF, elf.DT_VERDEFNUM} {
		v, err := f.DynValue(tag)
		if err != nil || len(v) != 1 {
			t.Errorf("%v: %v %v", tag, v, err)
		}
	}
	if v, _ := f.DynValue(elf.DT_VERDEFNUM); len(v) == 1 && v[0] != 2 {
		t.Errorf("DT_VERDEFNUM = %d", v[0])
	}
	if v, _ := f.DynValue(elf.DT_SYMENT); len(v) == 1 && v[0] != 24 {
		t.Errorf("DT_SYMENT = %d", v[0])
	}
}

func TestDynamicSymbolsAndVersions(t *testing.T) {
	im := build(t)
	f := parse(t, im)
	vers, err := f.DynamicVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(vers) != 2 || vers[0].Name != "linux-vdso.so.1" || vers[0].Index != 1 || vers[0].Flags != elf.VER_FLG_BASE ||
		vers[1].Name != "LINUX_2.6" || vers[1].Index != 2 || vers[1].Flags != 0 {
		t.Errorf("versions = %+v", vers)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]elf.Symbol{}
	for _, s := range syms {
		got[s.Name] = s
		if s.Version != "LINUX_2.6" || !s.HasVersion {
			t.Errorf("%s: version %q", s.Name, s.Version)
		}
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section != elf.SectionIndex(shText) {
			t.Errorf("%s: type %v section %v", s.Name, elf.ST_TYPE(s.Info), s.Section)
		}
	}
	if len(syms) != 2*len(wantFuncs) {
		t.Errorf("%d dynamic symbols, want %d", len(syms), 2*len(wantFuncs))
	}
	for _, name := range wantFuncs {
		g, w := got["__vdso_"+name], got[name]
		if elf.ST_BIND(g.Info) != elf.STB_GLOBAL || elf.ST_BIND(w.Info) != elf.STB_WEAK {
			t.Errorf("%s: binds %v, %v", name, elf.ST_BIND(g.Info), elf.ST_BIND(w.Info))
		}
		if g.Value != w.Value || g.Size != w.Size || g.Size == 0 {
			t.Errorf("%s: __vdso_ %#x+%d, alias %#x+%d", name, g.Value, g.Size, w.Value, w.Size)
		}
		s, ok := im.Lookup("__vdso_" + name)
		if !ok || s.Value != g.Value || s.Size != g.Size {
			t.Errorf("Lookup(__vdso_%s) = %+v, ELF says %#x+%d", name, s, g.Value, g.Size)
		}
		if g.Value < im.TextOffset || g.Value+g.Size > im.TextOffset+im.TextSize {
			t.Errorf("%s outside .text", name)
		}
	}
	if _, ok := im.Lookup("nonexistent"); ok {
		t.Error("Lookup found a symbol that does not exist")
	}
}

func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want uint32
	}{
		{"default", Options{}, DefaultLinuxVersion},
		{"5.15", Options{LinuxVersion: 0x050f00}, 0x050f00},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := Build(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			f := parse(t, im)
			var note *elf.Prog
			for _, p := range f.Progs {
				if p.Type == elf.PT_NOTE {
					note = p
				}
			}
			b := im.Bytes[note.Off : note.Off+note.Filesz]
			notes := map[string][]byte{}
			for len(b) >= 12 {
				namesz, descsz, typ := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
				name := string(b[12 : 12+namesz-1])
				d := 12 + align(int(namesz), 4)
				notes[name] = b[d : d+int(descsz)]
				if name == "Linux" && typ != 0 || name == "GNU" && typ != ntGNUBuildID {
					t.Errorf("note %s has type %d", name, typ)
				}
				b = b[d+align(int(descsz), 4):]
			}
			if v := notes["Linux"]; len(v) != 4 || binary.LittleEndian.Uint32(v) != tc.want {
				t.Errorf("Linux note = %x, want %#x", v, tc.want)
			}
			if !bytes.Equal(notes["GNU"], im.BuildID) || len(im.BuildID) != 20 {
				t.Errorf("build id note %x, image says %x", notes["GNU"], im.BuildID)
			}
		})
	}
}

// dynLoader finds symbols the way a dynamic loader does: from PT_DYNAMIC's
// tags, with addresses relative to the load base (0 here).
type dynLoader struct {
	b                       []byte
	hash, gnuhash, sym, str uint64
	versym, verdef          uint64
	le                      binary.ByteOrder
}

func newDynLoader(t *testing.T, im *Image) *dynLoader {
	t.Helper()
	f := parse(t, im)
	l := &dynLoader{b: im.Bytes, le: binary.LittleEndian}
	for _, p := range f.Progs {
		if p.Type != elf.PT_DYNAMIC {
			continue
		}
		for off := p.Vaddr; ; off += 16 {
			tag, val := elf.DynTag(l.le.Uint64(l.b[off:])), l.le.Uint64(l.b[off+8:])
			switch tag {
			case elf.DT_HASH:
				l.hash = val
			case elf.DT_GNU_HASH:
				l.gnuhash = val
			case elf.DT_SYMTAB:
				l.sym = val
			case elf.DT_STRTAB:
				l.str = val
			case elf.DT_VERSYM:
				l.versym = val
			case elf.DT_VERDEF:
				l.verdef = val
			}
			if tag == elf.DT_NULL {
				break
			}
		}
	}
	return l
}

func (l *dynLoader) u32(off uint64) uint32 { return l.le.Uint32(l.b[off:]) }

func (l *dynLoader) cstr(off uint64) string {
	end := bytes.IndexByte(l.b[off:], 0)
	return string(l.b[off : off+uint64(end)])
}

func (l *dynLoader) symName(i uint32) string {
	return l.cstr(l.str + uint64(l.u32(l.sym+uint64(i)*24)))
}

func (l *dynLoader) symValue(i uint32) uint64 { return l.le.Uint64(l.b[l.sym+uint64(i)*24+8:]) }

// versionOK checks symbol i's version is LINUX_2.6, as musl and Go's runtime
// do: versym index, then the verdef entry with that index, then its name.
func (l *dynLoader) versionOK(i uint32) bool {
	ndx := l.le.Uint16(l.b[l.versym+uint64(i)*2:]) & 0x7fff
	for d := l.verdef; ; {
		if l.le.Uint16(l.b[d+4:]) == ndx && l.le.Uint16(l.b[d+2:])&uint16(elf.VER_FLG_BASE) == 0 {
			aux := d + uint64(l.u32(d+12))
			name := l.cstr(l.str + uint64(l.u32(aux)))
			return name == "LINUX_2.6" && l.u32(d+8) == sysvHash(name)
		}
		next := l.u32(d + 16)
		if next == 0 {
			return false
		}
		d += uint64(next)
	}
}

// lookupSysV walks DT_HASH.
func (l *dynLoader) lookupSysV(name string) (uint32, bool) {
	nbucket := l.u32(l.hash)
	nchain := l.u32(l.hash + 4)
	h := sysvHash(name)
	for i := l.u32(l.hash + 8 + 4*uint64(h%nbucket)); i != 0; i = l.u32(l.hash + 8 + 4*uint64(nbucket) + 4*uint64(i)) {
		if i >= nchain {
			return 0, false
		}
		if l.symName(i) == name {
			return i, true
		}
	}
	return 0, false
}

// lookupGNU walks DT_GNU_HASH, bloom filter first.
func (l *dynLoader) lookupGNU(name string) (uint32, bool) {
	g := l.gnuhash
	nbuckets, symoffset, bloomSize, shift := l.u32(g), l.u32(g+4), l.u32(g+8), l.u32(g+12)
	bloom := g + 16
	buckets := bloom + 8*uint64(bloomSize)
	chain := buckets + 4*uint64(nbuckets)
	h := gnuHash(name)
	word := l.le.Uint64(l.b[bloom+8*uint64(h/64%bloomSize):])
	if word&(1<<(h%64)) == 0 || word&(1<<((h>>shift)%64)) == 0 {
		return 0, false
	}
	i := l.u32(buckets + 4*uint64(h%nbuckets))
	if i == 0 {
		return 0, false
	}
	for ; ; i++ {
		ch := l.u32(chain + 4*uint64(i-symoffset))
		if ch|1 == h|1 && l.symName(i) == name {
			return i, true
		}
		if ch&1 != 0 {
			return 0, false
		}
	}
}

func TestHashLookups(t *testing.T) {
	im := build(t)
	l := newDynLoader(t, im)
	for _, s := range im.Symbols {
		for _, lk := range []struct {
			table  string
			lookup func(string) (uint32, bool)
		}{{"DT_HASH", l.lookupSysV}, {"DT_GNU_HASH", l.lookupGNU}} {
			i, ok := lk.lookup(s.Name)
			if !ok {
				t.Errorf("%s: %s not found", lk.table, s.Name)
				continue
			}
			if l.symValue(i) != s.Value {
				t.Errorf("%s: %s at %#x, want %#x", lk.table, s.Name, l.symValue(i), s.Value)
			}
			if !l.versionOK(i) {
				t.Errorf("%s: %s is not versioned LINUX_2.6", lk.table, s.Name)
			}
		}
	}
	for _, name := range []string{"nonexistent", "__vdso_clock_gettime2", "", "clock_settime", "__vdso_sgx_enter_enclave"} {
		if _, ok := l.lookupSysV(name); ok {
			t.Errorf("DT_HASH found %q", name)
		}
		if _, ok := l.lookupGNU(name); ok {
			t.Errorf("DT_GNU_HASH found %q", name)
		}
	}
}

func TestHashFunctions(t *testing.T) {
	// Known values of the two ELF hash functions.
	for _, tc := range []struct {
		name      string
		sysv, gnu uint32
	}{
		{"", 0, 0x1505},
		{"printf", 0x077905a6, 0x156b2bb8},
		{"exit", 0x0006cf04, 0x7c967e3f},
		{"syscall", 0x0b09985c, 0xbac212a0},
	} {
		if got := sysvHash(tc.name); got != tc.sysv {
			t.Errorf("sysvHash(%q) = %#x, want %#x", tc.name, got, tc.sysv)
		}
		if got := gnuHash(tc.name); got != tc.gnu {
			t.Errorf("gnuHash(%q) = %#x, want %#x", tc.name, got, tc.gnu)
		}
	}
}

// TestEhFrameHdr walks .eh_frame_hdr's search table as an unwinder does and
// checks each function's FDE covers it exactly.
func TestEhFrameHdr(t *testing.T) {
	im := build(t)
	f := parse(t, im)
	hdr := f.Section(".eh_frame_hdr")
	eh := f.Section(".eh_frame")
	b := im.Bytes
	le := binary.LittleEndian
	h := hdr.Addr
	if b[h] != 1 || b[h+1] != 0x1b || b[h+2] != 0x03 || b[h+3] != 0x3b {
		t.Fatalf("eh_frame_hdr encodings % x", b[h:h+4])
	}
	if got := int64(h+4) + int64(int32(le.Uint32(b[h+4:]))); uint64(got) != eh.Addr {
		t.Errorf("eh_frame_ptr -> %#x, want %#x", got, eh.Addr)
	}
	fns := im.functions()
	if n := le.Uint32(b[h+8:]); int(n) != len(fns) {
		t.Fatalf("fde_count %d, want %d", n, len(fns))
	}
	var prev int64 = -1
	for i, fn := range fns {
		loc := int64(h) + int64(int32(le.Uint32(b[h+12+8*uint64(i):])))
		fde := uint64(int64(h) + int64(int32(le.Uint32(b[h+16+8*uint64(i):]))))
		if loc <= prev {
			t.Errorf("search table not sorted at %d", i)
		}
		prev = loc
		if uint64(loc) != fn.Value {
			t.Errorf("entry %d: %#x, want %s at %#x", i, loc, fn.Name, fn.Value)
		}
		if fde < eh.Addr || fde >= eh.Addr+eh.Size {
			t.Fatalf("entry %d: FDE %#x outside .eh_frame", i, fde)
		}
		cieOff := fde + 4 - uint64(le.Uint32(b[fde+4:]))
		if cieOff != eh.Addr || le.Uint32(b[cieOff+4:]) != 0 {
			t.Errorf("%s: FDE's CIE pointer -> %#x", fn.Name, cieOff)
		}
		begin := int64(fde+8) + int64(int32(le.Uint32(b[fde+8:])))
		size := le.Uint32(b[fde+12:])
		if uint64(begin) != fn.Value || uint64(size) != fn.Size {
			t.Errorf("%s: FDE covers %#x+%d, want %#x+%d", fn.Name, begin, size, fn.Value, fn.Size)
		}
	}
}

// TestBinutils runs readelf and objdump, when installed, on the image.
func TestBinutils(t *testing.T) {
	readelf, err1 := exec.LookPath("readelf")
	objdump, err2 := exec.LookPath("objdump")
	if err1 != nil || err2 != nil {
		t.Skip("binutils not installed")
	}
	im := build(t)
	path := filepath.Join(t.TempDir(), "linux-vdso.so.1")
	if err := os.WriteFile(path, im.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-a", "-W"}, {"--debug-dump=frames"}, {"-n"}} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(readelf, append(args, path)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("readelf %v: %v\n%s", args, err, stderr.String())
		}
		for _, line := range strings.Split(stderr.String()+stdout.String(), "\n") {
			if strings.Contains(line, "Warning") || strings.Contains(line, "Error") {
				t.Errorf("readelf %v: %s", args, line)
			}
		}
		if args[0] == "-a" {
			out := stdout.String()
			for _, want := range []string{"DYN (Shared object file)", "Library soname: [linux-vdso.so.1]",
				"__vdso_clock_gettime@@LINUX_2.6", "clock_gettime@@LINUX_2.6", "Name: LINUX_2.6", "GNU_EH_FRAME"} {
				if !strings.Contains(out, want) {
					t.Errorf("readelf -a output lacks %q", want)
				}
			}
		}
	}
	out, err := exec.Command(objdump, "-d", path).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump -d: %v\n%s", err, out)
	}
	text := string(out)
	for _, fn := range wantFuncs {
		if !strings.Contains(text, "<__vdso_"+fn) {
			t.Errorf("objdump -d shows no %s", fn)
		}
	}
	for _, bad := range []string{"(bad)", "Warning", "Error"} {
		if strings.Contains(text, bad) {
			t.Errorf("objdump -d output contains %q:\n%s", bad, text)
		}
	}
}

func TestSymbolsSorted(t *testing.T) {
	im := build(t)
	if !sort.SliceIsSorted(im.Symbols, func(i, j int) bool { return im.Symbols[i].Value < im.Symbols[j].Value }) {
		t.Error("Image.Symbols not in address order")
	}
}
