//go:build !linux

package cpu

// physicalMemory is 0 (unknown) where the machine's RAM is not read.
func physicalMemory() uint64 { return 0 }
