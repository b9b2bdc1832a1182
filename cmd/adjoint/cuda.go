//go:build cuda

package main

// Built with -tags cuda, the command can open "cuda" devices.
import _ "github.com/adjoint-go/adjoint/device/cuda"
