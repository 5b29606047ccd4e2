//go:build !unix

package main

import "time"

// processUsage is not available on this system: bench reports no CPU
// time nor RSS.
func processUsage() (cpu time.Duration, maxRSS int64) { return 0, 0 }
