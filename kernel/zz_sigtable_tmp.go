package kernel

import "vemu/abi"

func init() {
	table[abi.SYS_RT_SIGRETURN] = supported(sysRtSigreturn)
	table[abi.SYS_PAUSE] = supported(sysPause)
	table[abi.SYS_ALARM] = supported(sysAlarm)
	table[abi.SYS_RT_SIGPENDING] = supported(sysRtSigpending)
	table[abi.SYS_RT_SIGTIMEDWAIT] = supported(sysRtSigtimedwait)
	table[abi.SYS_RT_SIGQUEUEINFO] = supported(sysRtSigqueueinfo)
	table[abi.SYS_RT_SIGSUSPEND] = supported(sysRtSigsuspend)
	table[abi.SYS_RT_TGSIGQUEUEINFO] = supported(sysRtTgsigqueueinfo)
}

func init() {
	table[abi.SYS_GETITIMER] = supported(sysGetitimer)
	table[abi.SYS_SETITIMER] = supported(sysSetitimer)
}
