//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/adjoint-go/adjoint/device"
)

// Multi-tensor optimizer steps (SGDTensors, AdamTensors in ops.go) update
// every parameter tensor of a step in one launch of sgd_multi or
// adam_multi instead of one launch per tensor: a small training step on a
// GPU costs its launches, not its arithmetic. Those kernels read the
// tensors' addresses and lengths from a table in device memory. Uploading
// the table every step would cost a round trip, so each table is uploaded
// once and cached here, keyed by its own contents: an optimizer hands over
// the same parameters, gradients and state buffers every step, so a
// steady-state step finds its table and adds no round trip and no
// allocation. A key that matches is, word for word, the table on the
// device, so a cached table can never point at the wrong memory, even
// after its buffers were freed and reallocated.

// tensorRefWords is the size of one entry of a multi-tensor table in 8-byte
// words, as kernels/optim.cu's TensorRef lays it out: p, g, m, v, n.
const tensorRefWords = 5

// maxCachedTables bounds the cache. One optimizer needs one table (two
// while some parameters have no gradient); the oldest table beyond the
// bound goes back to the allocator.
const maxCachedTables = 16

// tensorTable is one uploaded table.
type tensorTable struct {
	words []uint64 // the table's contents, and so its key
	buf   *Buffer  // its device copy
}

// tableCache holds the tables, most recently used first. mu also guards
// words, the table being assembled, which is reused so that a cache hit
// allocates nothing.
type tableCache struct {
	mu     sync.Mutex
	words  []uint64
	tables []tensorTable
}

// addTensorRef appends one table entry to d.tables.words; m and v may be
// nil (a NULL pointer in the table). The caller holds d.tables.mu.
func (d *Device) addTensorRef(p, g, m, v *Buffer) {
	d.tables.words = append(d.tables.words, ptrArg(p), ptrArg(g), ptrArg(m), ptrArg(v), uint64(p.n))
}

// tensorTable returns the device address of a table with the contents of
// d.tables.words, from the cache or newly uploaded (a round trip, and an
// allocation unless the allocator has a free buffer of its size class). On
// failure it records the error and returns false. The caller holds
// d.tables.mu.
func (d *Device) tensorTable(op string) (devPtr, bool) {
	c := &d.tables
	for i, t := range c.tables {
		if slices.Equal(t.words, c.words) {
			copy(c.tables[1:i+1], c.tables[:i])
			c.tables[0] = t
			return t.buf.ptr, true
		}
	}
	checkDistinctTensors(op, c.words)
	words := slices.Clone(c.words)
	x, err := d.Alloc(device.Float32, 2*len(words)) // two float32 per word
	if err != nil {
		d.record(fmt.Errorf("cuda: %s: table of %d tensors: %w", op, len(words)/tensorRefWords, err))
		return 0, false
	}
	b := x.(*Buffer)
	r := d.roundTrip(call{op: opUpload, ptr: b.ptr, bytes: int64(len(words)) * 8, host: unsafe.Pointer(&words[0])})
	runtime.KeepAlive(words)
	if r.err != nil {
		// A failed copy is already recorded; this records errClosed.
		d.record(fmt.Errorf("cuda: %s: uploading the table of %d tensors: %w", op, len(words)/tensorRefWords, r.err))
		d.Free(b)
		return 0, false
	}
	if len(c.tables) == maxCachedTables {
		d.Free(c.tables[len(c.tables)-1].buf)
		c.tables = c.tables[:len(c.tables)-1]
	}
	c.tables = slices.Insert(c.tables, 0, tensorTable{words: words, buf: b})
	return b.ptr, true
}

// checkDistinctTensors panics when a buffer the multi-tensor kernels write
// (a parameter, or its m or v state) appears twice in a table (the same
// parameter listed twice, say): the tensors' blocks run concurrently, so
// its two updates would race, where the per-tensor calls would apply both
// in turn. It runs only when a table is built, not on every step.
func checkDistinctTensors(op string, words []uint64) {
	owner := make(map[uint64]int, len(words)/tensorRefWords*3)
	for i := 0; i+tensorRefWords <= len(words); i += tensorRefWords {
		t := i / tensorRefWords
		for _, w := range []int{0, 2, 3} { // p, m, v (g is only read)
			ptr := words[i+w]
			if ptr == 0 {
				continue
			}
			if j, dup := owner[ptr]; dup && j != t {
				panic(fmt.Sprintf("cuda: %s: tensors %d and %d update the same buffer (a parameter listed twice?): their updates would race in one launch", op, j, t))
			}
			owner[ptr] = t
		}
	}
}

// launchTensorChunks calls launch for the table assembled in
// d.tables.words (found in the cache or uploaded), once per chunk of at
// most maxGridY tensors that holds any elements; a table of empty tensors
// launches nothing and is not uploaded. On failure to upload, the error is
// recorded and nothing launches. The caller holds d.tables.mu.
func (d *Device) launchTensorChunks(op string, launch func(chunk devPtr, gx, gy int)) {
	words := d.tables.words
	empty := true
	for i := tensorRefWords - 1; i < len(words); i += tensorRefWords {
		empty = empty && words[i] == 0
	}
	if empty {
		return
	}
	table, ok := d.tensorTable(op)
	if !ok {
		return
	}
	for start := 0; start < len(words)/tensorRefWords; start += maxGridY {
		if chunk, gx, gy := d.tensorChunk(table, start); gx > 0 {
			launch(chunk, gx, gy)
		}
	}
}

// tensorChunk returns the part of the table at ptr (holding
// d.tables.words) that starts at entry start and its launch grid: the
// multi-tensor kernels take the tensor index from blockIdx.y, which CUDA
// limits to maxGridY, so a longer table takes several launches. gx is 0
// when every tensor of the chunk is empty.
func (d *Device) tensorChunk(ptr devPtr, start int) (chunk devPtr, gx, gy int) {
	words := d.tables.words
	end := min(len(words)/tensorRefWords, start+maxGridY)
	maxN := 0
	for i := start; i < end; i++ {
		maxN = max(maxN, int(words[i*tensorRefWords+4]))
	}
	if maxN == 0 {
		return 0, 0, 0
	}
	return ptr + devPtr(start*tensorRefWords*8), d.grid(maxN), end - start
}

// closeTables forgets the cached tables when the device closes; their
// memory goes with every other allocation of the device.
func (d *Device) closeTables() {
	d.tables.mu.Lock()
	d.tables.tables = nil
	d.tables.words = nil
	d.tables.mu.Unlock()
}
