package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/device"
)

const usage = `usage: adjoint <command> [flags]

commands:
  train     train a network (defaults: an MLP on the built-in digits set)
  eval      evaluate a checkpoint on a data set
  predict   print a checkpoint's prediction for every row of a CSV file
  bench     run the benchmarks

Run "adjoint <command> -h" for a command's flags.
`

// usageError marks bad command lines: exit status 2 instead of 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// env is where a command writes: out takes results (the JSON object, the
// predictions), log takes human-readable progress, and errw the progress
// bar when it is a terminal.
type env struct {
	stdout, stderr io.Writer
	// stderrTerminal says stderr is a terminal: draw a progress bar.
	stderrTerminal bool
	// stop is closed by the first interrupt (Ctrl-C, SIGTERM): training
	// then ends after the epoch in progress and saves. Nil: never.
	stop <-chan struct{}
}

func main() {
	e := env{stdout: os.Stdout, stderr: os.Stderr, stderrTerminal: isTerminal(os.Stderr)}
	if len(os.Args) > 1 && os.Args[1] == "train" {
		e.stop = interrupts() // the other commands keep Ctrl-C's default
	}
	os.Exit(run(os.Args[1:], e))
}

// interrupts returns a channel closed by the first SIGINT or SIGTERM; a
// second one ends the process at once with status 130.
func interrupts() <-chan struct{} {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-sig
		close(stop)
		<-sig
		fmt.Fprintln(os.Stderr, "adjoint: interrupted")
		os.Exit(130)
	}()
	return stop
}

// run executes one command line and returns the exit status: 0 on
// success, 2 for a bad command line, 1 for any other failure. Errors are
// printed as one line, "adjoint: …", on stderr.
func run(args []string, e env) (code int) {
	defer func() {
		// A panic is a bug, but the user still gets one line, not a trace.
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "adjoint: internal error: %v\n", r)
			code = 1
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "train":
		err = runTrain(rest, e)
	case "eval":
		err = runEval(rest, e)
	case "predict":
		err = runPredict(rest, e)
	case "bench":
		err = runBench(rest, e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		err = usagef("unknown command %q (want train, eval, predict or bench; see adjoint help)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "adjoint: %s\n", oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		if errors.Is(err, errInterrupted) {
			return 130 // as a shell reports a process ended by SIGINT
		}
		return 1
	}
	return 0
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseFlags parses args into fs, turning flag errors into usage errors
// that name the command. -h prints the flags on stderr.
func parseFlags(fs *flag.FlagSet, args []string, e env) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stderr)
		fmt.Fprintf(e.stderr, "usage: adjoint %s [flags]\n\nflags:\n", fs.Name())
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usagef("%s: %v (see adjoint %s -h)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (see adjoint %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// openDevice is device.Open, with a misspelt name as a usage error.
func openDevice(name string) (device.Device, error) {
	d, err := device.Open(name)
	if errors.Is(err, device.ErrBadSpec) {
		return nil, usageError{err}
	}
	return d, err
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}
