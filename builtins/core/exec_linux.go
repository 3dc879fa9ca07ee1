package core

import "syscall"

// processGroupAttr starts a command in a process group of its own, killed
// if ferry itself dies.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
