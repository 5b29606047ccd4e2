//go:build unix

package main

import (
	"runtime"
	"syscall"
	"time"
)

// processUsage returns the CPU time (user and system) the process has
// used so far, and its peak resident set size in bytes.
func processUsage() (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		maxRSS *= 1024 // kilobytes elsewhere, bytes on Apple's systems
	}
	return cpu, maxRSS
}
