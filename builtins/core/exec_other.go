//go:build !linux

package core

import "syscall"

// processGroupAttr starts a command in a process group of its own.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
