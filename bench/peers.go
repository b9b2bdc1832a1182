package bench

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

//go:embed peers.py
var peersScript string

// PeersScript is the embedded Python source of the PyTorch/numpy peers.
func PeersScript() string { return peersScript }

// DefaultPython is the interpreter the peers run with: Debian's
// /usr/bin/python3 (which has python3-torch and python3-numpy) when it
// exists, else python3 from PATH.
func DefaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// PeerInfo describes the Python side after setup.
type PeerInfo struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Torch  string `json:"torch,omitempty"`
	Numpy  string `json:"numpy,omitempty"`
	Python string `json:"python,omitempty"`
	// BLAS is the library behind the system's libblas.so.3, if any: a
	// distribution's torch and numpy run their products through it.
	BLAS    string `json:"blas,omitempty"`
	Threads int    `json:"threads,omitempty"`
	CUDA    bool   `json:"cuda,omitempty"`
	Card    string `json:"card,omitempty"`
	// TF32 is the float32 matmul setting read back after the peer turned
	// TF32 off on CUDA ("matmul.fp32_precision=ieee").
	TF32 string `json:"tf32,omitempty"`
	// Env lists the settings the command added to the script's environment
	// besides the thread counts.
	Env []string `json:"env,omitempty"`
}

// PeerResult is one implementation's repetition times for a configuration.
type PeerResult struct {
	Impl  string    `json:"impl"` // "torch" or "numpy"
	Times []float64 `json:"times"`
}

type peerReply struct {
	PeerInfo
	Results []PeerResult `json:"results"`
}

// ErrNoTorch is wrapped by StartPeers when the interpreter cannot import
// torch (or cannot run at all); the command then skips the peers.
var ErrNoTorch = errors.New("PyTorch peers unavailable")

// Peers is a running peers.py process serving one device.
type Peers struct {
	Info   PeerInfo
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tailBuffer
}

// StartPeers starts the peers script with the given interpreter for device
// ("cpu" or "cuda"), with torch (and OpenBLAS/OpenMP) limited to threads;
// env adds KEY=VALUE settings to the script's environment.
func StartPeers(python, dev string, threads int, env ...string) (*Peers, error) {
	cmd := exec.Command(python, "-u", "-c", peersScript)
	n := fmt.Sprint(threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n, "MKL_NUM_THREADS="+n)
	cmd.Env = append(cmd.Env, env...)
	p := &Peers{cmd: cmd, stderr: &tailBuffer{max: 4096}}
	cmd.Stderr = p.stderr
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReaderSize(out, 1<<16)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting %s: %v: %w", python, err, ErrNoTorch)
	}
	var info peerReply
	if err := p.call(map[string]any{"op": "setup", "device": dev, "threads": threads}, &info); err != nil {
		p.Close()
		return nil, fmt.Errorf("bench: %s: %v: %w", python, err, ErrNoTorch)
	}
	if !info.OK {
		p.Close()
		return nil, fmt.Errorf("bench: %s: %s: %w", python, info.Error, ErrNoTorch)
	}
	p.Info = info.PeerInfo
	return p, nil
}

func (p *Peers) call(req any, reply any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing to peers: %v%s", err, p.stderr.suffix())
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("peers exited (%v)%s", err, p.stderr.suffix())
	}
	if err := json.Unmarshal(line, reply); err != nil {
		return fmt.Errorf("peers replied %q: %v", strings.TrimSpace(string(line)), err)
	}
	return nil
}

// Run times configuration c in the peers (torch; numpy too for GEMM on the
// CPU) with the same Timing as the Go side.
func (p *Peers) Run(dev string, c Config, tm Timing) ([]PeerResult, error) {
	var r peerReply
	if err := p.call(map[string]any{"op": "run", "device": dev, "config": c, "timing": tm}, &r); err != nil {
		return nil, fmt.Errorf("bench: peers: %s: %w", c.Name, err)
	}
	if !r.OK {
		return nil, fmt.Errorf("bench: peers: %s: %s", c.Name, r.Error)
	}
	return r.Results, nil
}

// Close asks the script to quit and waits for it (killing it after 5 s).
func (p *Peers) Close() error {
	if p.cmd.Process == nil {
		return nil
	}
	var r peerReply
	_ = p.call(map[string]any{"op": "quit"}, &r)
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		return <-done
	}
}

// tailBuffer keeps the last max bytes written (the script's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(b), nil
}

func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.buf))
	if s == "" {
		return ""
	}
	return "; stderr: " + s
}
