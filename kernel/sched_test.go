package kernel

func init() {
	// Every test that runs a guest checks the counts of blocked signals at each turn.
	checkBlocked = true
}
