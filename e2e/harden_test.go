package e2e

import "testing"

// hardenGuests are the C programs that play a hostile or careless guest: each must get
// what Linux gives it, and vemu must survive it.
var hardenGuests = []diffCase{
	{name: "priv", cmds: one("priv")},
	{name: "vvarunmap", cmds: one("vvarunmap")},
	{name: "shmfork", cmds: one("shmfork")},
	{name: "procself", cmds: one("procself")},
	{name: "procself-seed", cmds: one("procself"), flags: []string{"--seed=3"}},
	{name: "shmfile", cmds: one("shmfile", "work"), setup: mkdirs("work")},
	{name: "quickerr", cmds: one("quickerr", "work"), setup: mkdirs("work")},
	{name: "vvarunmap-virtual", cmds: one("vvarunmap"), flags: []string{"--clock=virtual", "--seed=1"}},
}

func TestHardenDiff(t *testing.T) { runGuests(t, hardenGuests, nil) }
