package kernel

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Capability numbers vemu checks itself.
const (
	capChown             = 0
	capDacOverride       = 1
	capDacReadSearch     = 2
	capFowner            = 3
	capFsetid            = 4
	capKill              = 5
	capSetgid            = 6
	capSetuid            = 7
	capSetpcap           = 8
	capNetAdmin          = 12
	capSysAdmin          = 21
	capLease             = 28
	capSysNice           = 23
	capSysResource       = 24
	capLinuxImmutable    = 9
	capMknod             = 27
	capMacOverride       = 32
	capCheckpointRestore = 40
	capLastCapDefault    = 40
)

// capFSMask is the set a change of the filesystem uid between 0 and another id drops or
// raises (Linux's CAP_FS_MASK).
const capFSMask = 1<<capChown | 1<<capDacOverride | 1<<capDacReadSearch | 1<<capFowner |
	1<<capFsetid | 1<<capLinuxImmutable | 1<<capMknod | 1<<capMacOverride

// Securebits (prctl PR_SET_SECUREBITS): each bit at an even position has a lock bit
// above it.
const (
	secNoroot           = 1 << 0
	secNoSetuidFixup    = 1 << 2
	secKeepCaps         = 1 << 4
	secNoCapAmbientRais = 1 << 6
	secAllBits          = 0x55
	secAllLocks         = 0xaa
)

// capHeader versions (struct __user_cap_header_struct).
const (
	capVersion1 = 0x19980330 // one 32-bit word per set
	capVersion2 = 0x20071026 // two words, deprecated
	capVersion3 = 0x20080522 // two words
)

// prctl PR_CAP_AMBIENT operations.
const (
	ambientIsSet    = 1
	ambientRaise    = 2
	ambientLower    = 3
	ambientClearAll = 4
)

// caps are a process's capability sets and securebits, as Linux keeps them in struct
// cred.
type caps struct {
	eff, prm, inh, bnd, amb uint64
	secure                  uint32
}

var hostCapsOnce = sync.OnceValues(readHostCaps)

// lastCap is the host kernel's CAP_LAST_CAP.
func lastCap() int {
	_, last := hostCapsOnce()
	return last
}

// capValid says whether c names a capability of the host kernel.
func capValid(c uint64) bool { return c <= uint64(lastCap()) }

// capMask is every capability the host kernel knows.
func capMask() uint64 { return 1<<(lastCap()+1) - 1 }

// readHostCaps reads vemu's own capability sets, which the first guest process starts
// with as a program started in vemu's place would, and the kernel's last capability.
func readHostCaps() (caps, int) {
	last := capLastCapDefault
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 63 {
			last = n
		}
	}
	var c caps
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return c, last
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			continue
		}
		switch k {
		case "CapInh":
			c.inh = n
		case "CapPrm":
			c.prm = n
		case "CapEff":
			c.eff = n
		case "CapBnd":
			c.bnd = n
		case "CapAmb":
			c.amb = n
		}
	}
	return c, last
}

// capable says whether the effective set holds capability n.
func (c *creds) capable(n int) bool { return c.caps.eff&(1<<n) != 0 }

// fixSetuid adjusts the capability sets after a change of user ids from old, as Linux's
// cap_emulate_setxuid(): leaving uid 0 in all three ids clears the permitted and
// effective sets (unless keepcaps) and the ambient set; leaving effective uid 0 clears
// the effective set; becoming effective uid 0 again restores it from the permitted set.
func (c *creds) fixSetuid(old creds) {
	if c.caps.secure&secNoSetuidFixup != 0 {
		return
	}
	if (old.ruid == 0 || old.euid == 0 || old.suid == 0) && c.ruid != 0 && c.euid != 0 && c.suid != 0 {
		if c.caps.secure&secKeepCaps == 0 {
			c.caps.prm, c.caps.eff = 0, 0
		}
		c.caps.amb = 0
	}
	if old.euid == 0 && c.euid != 0 {
		c.caps.eff = 0
	}
	if old.euid != 0 && c.euid == 0 {
		c.caps.eff = c.caps.prm
	}
}

// fixSetfsuid adjusts the effective set after setfsuid(2), as Linux does: the file
// system capabilities go with filesystem uid 0.
func (c *creds) fixSetfsuid(oldFsuid uint32) {
	if c.caps.secure&secNoSetuidFixup != 0 {
		return
	}
	if oldFsuid == 0 && c.fsuid != 0 {
		c.caps.eff &^= capFSMask
	}
	if oldFsuid != 0 && c.fsuid == 0 {
		c.caps.eff |= c.caps.prm & capFSMask
	}
}

// setidFile is what execve reads of a program for its set-user-id and set-group-id bits.
type setidFile struct {
	mode     uint32 // st_mode
	uid, gid uint32 // the file's owner and group
	nosuid   bool   // on a mount with MS_NOSUID: the bits are ignored
}

// execCreds computes the ids and capability sets after execve of a program without file
// capabilities, as Linux's bprm_fill_uid() and cap_bprm_creds_from_file(): a
// set-user-id program's owner becomes the effective uid and a set-group-id one's group
// (with the group execute bit) the effective gid, unless the file is on a nosuid mount or
// the process has no_new_privs; uid 0 (real or effective) gets the bounding set and the
// inheritable one; when the ids change or capabilities are gained and the exec is unsafe
// (no_new_privs, or a tracer without CAP_SYS_PTRACE), the ids stay the real ones (unless
// the process has CAP_SETUID and no no_new_privs) and the permitted set gains nothing;
// the saved and filesystem ids follow the effective ones; a change of ids clears the
// ambient set; keepcaps is cleared. It says whether the exec is secure (AT_SECURE).
func (c *creds) execCreds(f setidFile, nnp, untrustedTracer bool) (secure bool) {
	old := *c
	x := &c.caps
	if !f.nosuid && !nnp {
		if f.mode&unix.S_ISUID != 0 {
			c.euid = f.uid
		}
		if f.mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
			c.egid = f.gid
		}
	}
	x.prm = 0
	effective := false
	if x.secure&secNoroot == 0 && (c.ruid == 0 || c.euid == 0) {
		x.prm = x.bnd | x.inh
		effective = c.euid == 0
	}
	isSetid := c.euid != old.ruid || c.egid != old.rgid
	if (isSetid || x.prm&^old.caps.prm != 0) && (nnp || untrustedTracer) {
		if !old.capable(capSetuid) || nnp {
			c.euid, c.egid = c.ruid, c.rgid
		}
		x.prm &= old.caps.prm
	}
	c.suid, c.fsuid = c.euid, c.euid
	c.sgid, c.fsgid = c.egid, c.egid
	if isSetid {
		x.amb = 0
	}
	x.prm |= x.amb
	if effective {
		x.eff = x.prm
	} else {
		x.eff = x.amb
	}
	x.secure &^= secKeepCaps
	return isSetid || (c.ruid != 0 && (effective || x.prm&^x.amb != 0))
}

// capVersion reads the header's version and says how many 32-bit words each set has;
// an unknown version is answered with the preferred one written back and EINVAL.
func (t *Task) capVersion(hdr mm.Addr) (int, error) {
	var b [4]byte
	if err := t.p.mm.CopyIn(hdr, b[:]); err != nil {
		return 0, err
	}
	switch binary.LittleEndian.Uint32(b[:]) {
	case capVersion1:
		return 1, nil
	case capVersion2, capVersion3:
		return 2, nil
	}
	if err := t.p.mm.CopyOut(hdr, binary.LittleEndian.AppendUint32(nil, capVersion3)); err != nil {
		return 0, err
	}
	return 0, unix.EINVAL
}

// capPid reads the header's pid.
func (t *Task) capPid(hdr mm.Addr) (int32, error) {
	var b [4]byte
	if err := t.p.mm.CopyIn(hdr+4, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

// sysCapget implements capget(2) for any guest thread.
func sysCapget(t *Task, a Args) (uint64, error) {
	words, err := t.capVersion(a.Ptr(0))
	if a[1] == 0 {
		if err == unix.EINVAL {
			return 0, nil // a probe for the preferred version
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	pid, err := t.capPid(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	if pid < 0 {
		return 0, unix.EINVAL
	}
	c := t.p.creds.caps
	if pid != 0 && int(pid) != t.tid {
		k := t.p.k
		k.pt.mu.Lock()
		q := k.lookupLocked(int(pid))
		if q != nil && q.exit == nil {
			c = q.capsCopy()
		}
		k.pt.mu.Unlock()
		if q == nil || q.exit != nil {
			return 0, unix.ESRCH
		}
	}
	out := make([]byte, 0, 24)
	for w := range words {
		s := uint(32 * w)
		out = binary.LittleEndian.AppendUint32(out, uint32(c.eff>>s))
		out = binary.LittleEndian.AppendUint32(out, uint32(c.prm>>s))
		out = binary.LittleEndian.AppendUint32(out, uint32(c.inh>>s))
	}
	return 0, t.p.mm.CopyOut(a.Ptr(1), out)
}

// sysCapset implements capset(2): the calling process only, with Linux's rules (the new
// permitted set within the old, effective within the new permitted, inheritable within
// the old inheritable and permitted sets unless CAP_SETPCAP, and within the bounding set).
func sysCapset(t *Task, a Args) (uint64, error) {
	words, err := t.capVersion(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	pid, err := t.capPid(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	if pid != 0 && int(pid) != t.tid && int(pid) != t.p.pid {
		return 0, unix.EPERM
	}
	b := make([]byte, 12*words)
	if err := t.p.mm.CopyIn(a.Ptr(1), b); err != nil {
		return 0, err
	}
	var eff, prm, inh uint64
	for w := range words {
		s := uint(32 * w)
		eff |= uint64(binary.LittleEndian.Uint32(b[12*w:])) << s
		prm |= uint64(binary.LittleEndian.Uint32(b[12*w+4:])) << s
		inh |= uint64(binary.LittleEndian.Uint32(b[12*w+8:])) << s
	}
	valid := capMask()
	eff, prm, inh = eff&valid, prm&valid, inh&valid
	old := &t.p.creds.caps
	if !t.p.creds.capable(capSetpcap) && inh&^(old.inh|old.prm) != 0 {
		return 0, unix.EPERM
	}
	if inh&^(old.inh|old.bnd) != 0 || prm&^old.prm != 0 || eff&^prm != 0 {
		return 0, unix.EPERM
	}
	old.eff, old.prm, old.inh = eff, prm, inh
	old.amb &= prm & inh
	return 0, nil
}

// capsCopy returns the process's capability sets; the caller holds pt.mu, under which
// they change.
func (p *Process) capsCopy() caps { return p.creds.caps }

// prctlCaps answers the prctl(2) options about capabilities and securebits.
func (t *Task) prctlCaps(a Args) (uint64, error) {
	c := &t.p.creds
	x := &c.caps
	switch a.Int(0) {
	case abi.PR_GET_KEEPCAPS:
		if x.secure&secKeepCaps != 0 {
			return 1, nil
		}
		return 0, nil
	case abi.PR_SET_KEEPCAPS:
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		if x.secure&(secKeepCaps<<1) != 0 {
			return 0, unix.EPERM
		}
		x.secure = x.secure&^secKeepCaps | uint32(a[1])*secKeepCaps
		return 0, nil
	case abi.PR_CAPBSET_READ:
		if !capValid(a[1]) {
			return 0, unix.EINVAL
		}
		return x.bnd >> a[1] & 1, nil
	case abi.PR_CAPBSET_DROP:
		if !c.capable(capSetpcap) {
			return 0, unix.EPERM
		}
		if !capValid(a[1]) {
			return 0, unix.EINVAL
		}
		x.bnd &^= 1 << a[1]
		return 0, nil
	case abi.PR_GET_SECUREBITS:
		return uint64(x.secure), nil
	case abi.PR_SET_SECUREBITS:
		old, v := uint64(x.secure), a[1]
		if (old&secAllLocks)>>1&(old^v) != 0 || old&secAllLocks&^v != 0 ||
			v&^uint64(secAllLocks|secAllBits) != 0 || !c.capable(capSetpcap) {
			return 0, unix.EPERM
		}
		x.secure = uint32(v)
		return 0, nil
	case abi.PR_CAP_AMBIENT:
		return x.ambient(a)
	}
	return 0, unix.EINVAL
}

// ambient implements prctl(PR_CAP_AMBIENT, op, cap).
func (x *caps) ambient(a Args) (uint64, error) {
	if a[1] == ambientClearAll {
		if a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		x.amb = 0
		return 0, nil
	}
	if a[3] != 0 || a[4] != 0 || !capValid(a[2]) {
		return 0, unix.EINVAL
	}
	bit := uint64(1) << a[2]
	switch a[1] {
	case ambientIsSet:
		if x.amb&bit != 0 {
			return 1, nil
		}
		return 0, nil
	case ambientRaise:
		if x.prm&bit == 0 || x.inh&bit == 0 || x.secure&secNoCapAmbientRais != 0 {
			return 0, unix.EPERM
		}
		x.amb |= bit
		return 0, nil
	case ambientLower:
		x.amb &^= bit
		return 0, nil
	}
	return 0, unix.EINVAL
}
