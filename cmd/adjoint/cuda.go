//go:build cuda || cudaemu

package main

// Built with -tags cuda, the command can open "cuda" devices; with -tags
// cudaemu, "cuda" is the CPU emulation of the same kernels (for testing).
import _ "github.com/adjoint-go/adjoint/device/cuda"
