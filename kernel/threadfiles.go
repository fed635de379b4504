package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Per-thread descriptor tables and working directories. Linux's threads share them
// when created with CLONE_FILES and CLONE_FS (as pthread_create does), get copies
// otherwise, and unshare(2) gives the caller its own copy. vemu's handlers use the
// process's files and fs: those of the thread the process acts for, switched when the
// run loop gives the CPU to another thread or finishes another thread's call. Until a
// thread has tables of its own nothing switches; from then on a thread's files and fs
// are nil when it uses the process's main ones (mainFiles, mainFS).
//
// The umask goes with the working directory, as Linux's fs_struct holds both.

// tablesOf is the descriptor table and working directory thread t uses.
func (p *Process) tablesOf(t *Task) (*FDTable, *fsContext) {
	f, s := t.files, t.fs
	if f == nil {
		f = p.mainFiles
	}
	if s == nil {
		s = p.mainFS
	}
	return f, s
}

// useTables makes t's tables the process's, when threads have tables of their own.
func (t *Task) useTables() {
	p := t.p
	if p.mainFiles == nil {
		return
	}
	f, s := p.tablesOf(t)
	if f != nil && f != p.files {
		p.files = f
	}
	if s != nil && s != p.fs {
		p.fs = s
	}
}

// actTables acts for t (finishing its call while another thread may hold the CPU) until
// restore is called.
func (t *Task) actTables() (restore func()) {
	p := t.p
	if p.mainFiles == nil {
		return func() {}
	}
	f, s := p.files, p.fs
	t.useTables()
	return func() {
		if p.files != f {
			p.files = f
		}
		if p.fs != s {
			p.fs = s
		}
	}
}

// ownTables records the main tables, the first time a thread gets tables of its own.
func (p *Process) ownTables() {
	if p.mainFiles == nil {
		p.mainFiles, p.mainFS = p.files, p.fs
	}
}

// threadTables gives the new thread c the caller's tables, or copies of them, as clone's
// CLONE_FILES and CLONE_FS say.
func (t *Task) threadTables(c *Task, flags uint64) error {
	p := t.p
	share := abi.CLONE_FILES | abi.CLONE_FS
	if flags&uint64(share) == uint64(share) {
		c.files, c.fs = t.files, t.fs
		return nil
	}
	p.ownTables()
	c.files, c.fs = t.files, t.fs
	if flags&abi.CLONE_FILES == 0 {
		nf, err := p.files.fork(p)
		if err != nil {
			nf.closeAll()
			return unix.EMFILE
		}
		nf.dropped = p.fileDropped
		c.files = nf
	}
	if flags&abi.CLONE_FS == 0 {
		c.fs = p.fs.fork()
	}
	return nil
}

// unshareTables gives t its own copy of its descriptor table (CLONE_FILES) or working
// directory (CLONE_FS) when another live thread shares it, as Linux's unshare_fd() and
// unshare_fs().
func (t *Task) unshareTables(flags uint64) error {
	p := t.p
	f, s := p.tablesOf(t)
	if f == nil {
		f, s = p.files, p.fs
	}
	var shareF, shareS bool
	for _, o := range p.tasks {
		if o == t || o.state == taskDead {
			continue
		}
		of, os := p.tablesOf(o)
		if of == nil {
			of, os = p.files, p.fs
		}
		shareF = shareF || of == f
		shareS = shareS || os == s
	}
	if flags&abi.CLONE_FILES != 0 && shareF {
		p.ownTables()
		nf, err := f.fork(p)
		if err != nil {
			nf.closeAll()
			return unix.EMFILE
		}
		nf.dropped = p.fileDropped
		t.files, p.files = nf, nf
	}
	if flags&abi.CLONE_FS != 0 && shareS {
		p.ownTables()
		ns := s.fork()
		t.fs, p.fs = ns, ns
	}
	p.publishTables()
	return nil
}

// dropTables closes the tables of t, which ended, when no live thread uses them.
func (p *Process) dropTables(t *Task) {
	if p.mainFiles == nil {
		return
	}
	f, s := p.tablesOf(t)
	t.files, t.fs = nil, nil
	for _, o := range p.tasks {
		if o == t || o.state == taskDead {
			continue
		}
		of, os := p.tablesOf(o)
		if of == f {
			f = nil
		}
		if os == s {
			s = nil
		}
	}
	// The main tables too, once no thread uses them (after exec by a thread with its
	// own, say): closing them again at the end does nothing.
	if f != nil {
		f.closeAll()
	}
	if s != nil {
		s.close()
	}
	if p.files != nil {
		p.publishTables()
	}
}
