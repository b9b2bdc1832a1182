package main

import "errors"

// runBench runs "adjoint bench". Placeholder: another change replaces it.
func runBench(args []string) error {
	return errors.New("bench: not built yet")
}
