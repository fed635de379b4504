package kernel

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// creds are a guest process's user and group ids and capabilities. They start as vemu's
// own and follow Linux's rules for changing them (setuid(2) and its family: anything with
// CAP_SETUID or CAP_SETGID, else only among the ids the process already has; capabilities
// dropped and raised with uid 0 as Linux does), so that a program that drops privileges
// sees them dropped. The fields another process reads (capget) change under pt.mu.
type creds struct {
	ruid, euid, suid, fsuid uint32
	rgid, egid, sgid, fsgid uint32
	groups                  []uint32
	caps                    caps
}

// credsNote is what the table says of the calls that change ids.
const credsNote = "ids are kept per guest process under Linux's rules; the host checks file access with the guest's fsuid, fsgid, groups and capabilities (any ids only when vemu is root)"

// hostCreds are vemu's own ids.
func hostCreds() creds {
	u, e := uint32(os.Getuid()), uint32(os.Geteuid())
	g, eg := uint32(os.Getgid()), uint32(os.Getegid())
	c := creds{ruid: u, euid: e, suid: e, fsuid: e, rgid: g, egid: eg, sgid: eg, fsgid: eg}
	c.caps, _ = hostCapsOnce()
	if gs, err := unix.Getgroups(); err == nil {
		for _, g := range gs {
			c.groups = append(c.groups, uint32(g))
		}
	}
	return c
}

// privileged says whether the process may set any id of the kind ids points at:
// CAP_SETUID for user ids, CAP_SETGID for group ids.
func (c *creds) privileged(ids *[4]*uint32) bool {
	if ids[0] == &c.ruid {
		return c.capable(capSetuid)
	}
	return c.capable(capSetgid)
}

// changeUids runs f, which changes user ids, and then adjusts the capability sets as
// Linux does, under the lock that capget of another process reads them under.
func (t *Task) changeUids(f func(c *creds) error) error {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	c := &t.p.creds
	old := *c
	if err := f(c); err != nil {
		return err
	}
	c.fixSetuid(old)
	return nil
}

// noChange is the -1 that leaves an id as it is.
const noChange = ^uint32(0)

// setres sets real, effective and saved ids (of users or groups) as setresuid(2) does:
// an unprivileged process may only choose among its current three.
func (c *creds) setres(r, e, s uint32, ids *[4]*uint32) error {
	if !c.privileged(ids) {
		cur := [3]uint32{*ids[0], *ids[1], *ids[2]}
		for _, v := range []uint32{r, e, s} {
			if v != noChange && v != cur[0] && v != cur[1] && v != cur[2] {
				return unix.EPERM
			}
		}
	}
	apply(r, e, s, ids)
	return nil
}

// apply sets the ids that are not noChange; the filesystem id follows the effective one.
func apply(r, e, s uint32, ids *[4]*uint32) {
	for i, v := range []uint32{r, e, s} {
		if v != noChange {
			*ids[i] = v
		}
	}
	*ids[3] = *ids[1]
}

func (c *creds) uids() *[4]*uint32 { return &[4]*uint32{&c.ruid, &c.euid, &c.suid, &c.fsuid} }
func (c *creds) gids() *[4]*uint32 { return &[4]*uint32{&c.rgid, &c.egid, &c.sgid, &c.fsgid} }

func sysGetuid(t *Task, a Args) (uint64, error)  { return uint64(t.p.creds.ruid), nil }
func sysGeteuid(t *Task, a Args) (uint64, error) { return uint64(t.p.creds.euid), nil }
func sysGetgid(t *Task, a Args) (uint64, error)  { return uint64(t.p.creds.rgid), nil }
func sysGetegid(t *Task, a Args) (uint64, error) { return uint64(t.p.creds.egid), nil }

// sysGetresuid implements getresuid(2).
func sysGetresuid(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	return 0, t.putU32s(a, c.ruid, c.euid, c.suid)
}

// sysGetresgid implements getresgid(2).
func sysGetresgid(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	return 0, t.putU32s(a, c.rgid, c.egid, c.sgid)
}

// putU32s writes three ids to the three pointers of a.
func (t *Task) putU32s(a Args, vals ...uint32) error {
	for i, v := range vals {
		if err := t.p.mm.CopyOut(a.Ptr(i), binary.LittleEndian.AppendUint32(nil, v)); err != nil {
			return err
		}
	}
	return nil
}

// sysSetuid implements setuid(2): all three ids when privileged, else the effective one
// to the real or saved id.
func sysSetuid(t *Task, a Args) (uint64, error) {
	id := a.Uint(0)
	if id == noChange {
		return 0, unix.EINVAL
	}
	return 0, t.changeUids(func(c *creds) error {
		if c.privileged(c.uids()) {
			return c.setres(id, id, id, c.uids())
		}
		return c.setres(noChange, id, noChange, c.uids())
	})
}

// sysSetgid implements setgid(2).
func sysSetgid(t *Task, a Args) (uint64, error) {
	c, id := &t.p.creds, a.Uint(0)
	if id == noChange {
		return 0, unix.EINVAL
	}
	if c.privileged(c.gids()) {
		return 0, c.setres(id, id, id, c.gids())
	}
	return 0, c.setres(noChange, id, noChange, c.gids())
}

// sysSetreuid implements setreuid(2): the saved id follows the effective one when the
// real id is set or the effective one differs from the old real id.
func sysSetreuid(t *Task, a Args) (uint64, error) {
	return 0, t.changeUids(func(c *creds) error { return c.setre(a.Uint(0), a.Uint(1), c.uids()) })
}

// sysSetregid implements setregid(2).
func sysSetregid(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	return 0, c.setre(a.Uint(0), a.Uint(1), c.gids())
}

func (c *creds) setre(r, e uint32, ids *[4]*uint32) error {
	oldReal := *ids[0]
	if !c.privileged(ids) {
		if r != noChange && r != *ids[0] && r != *ids[1] {
			return unix.EPERM
		}
		if e != noChange && e != *ids[0] && e != *ids[1] && e != *ids[2] {
			return unix.EPERM
		}
	}
	s := uint32(noChange)
	if r != noChange || (e != noChange && e != oldReal) {
		s = e
		if e == noChange {
			s = *ids[1]
		}
	}
	apply(r, e, s, ids)
	return nil
}

// sysSetresuid implements setresuid(2).
func sysSetresuid(t *Task, a Args) (uint64, error) {
	return 0, t.changeUids(func(c *creds) error { return c.setres(a.Uint(0), a.Uint(1), a.Uint(2), c.uids()) })
}

// sysSetresgid implements setresgid(2).
func sysSetresgid(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	return 0, c.setres(a.Uint(0), a.Uint(1), a.Uint(2), c.gids())
}

// sysSetfsuid implements setfsuid(2): it returns the old id, and changes it only to one
// of the process's ids (any, when privileged).
func sysSetfsuid(t *Task, a Args) (uint64, error) {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	c := &t.p.creds
	old := c.setfs(a.Uint(0), c.uids())
	c.fixSetfsuid(old)
	return uint64(old), nil
}

// sysSetfsgid implements setfsgid(2).
func sysSetfsgid(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	return uint64(c.setfs(a.Uint(0), c.gids())), nil
}

func (c *creds) setfs(id uint32, ids *[4]*uint32) uint32 {
	old := *ids[3]
	if id != noChange && (c.privileged(ids) || id == *ids[0] || id == *ids[1] || id == *ids[2] || id == *ids[3]) {
		*ids[3] = id
	}
	return old
}

// sysGetgroups implements getgroups(2).
func sysGetgroups(t *Task, a Args) (uint64, error) {
	gs := t.p.creds.groups
	n := a.Int(0)
	if n < 0 {
		return 0, unix.EINVAL
	}
	if n == 0 {
		return uint64(len(gs)), nil
	}
	if int(n) < len(gs) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 0, 4*len(gs))
	for _, g := range gs {
		b = binary.LittleEndian.AppendUint32(b, g)
	}
	return uint64(len(gs)), t.p.mm.CopyOut(a.Ptr(1), b)
}

// ngroupsMax is Linux's NGROUPS_MAX.
const ngroupsMax = 65536

// sysSetgroups implements setgroups(2), privileged only.
func sysSetgroups(t *Task, a Args) (uint64, error) {
	c := &t.p.creds
	n := a.Int(0)
	if n < 0 || n > ngroupsMax {
		return 0, unix.EINVAL
	}
	if !c.capable(capSetgid) {
		return 0, unix.EPERM
	}
	b := make([]byte, 4*int(n))
	if err := t.p.mm.CopyIn(a.Ptr(1), b); err != nil {
		return 0, err
	}
	gs := make([]uint32, n)
	for i := range gs {
		gs[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	c.groups = gs
	return 0, nil
}
