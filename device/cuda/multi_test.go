//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// multiLengths are the tensor sizes of the multi-tensor checks: odd sizes,
// one tensor larger than a block sweep, and an empty one.
var multiLengths = []int{1, 7, 1000, 0, 4097}

// optimTensors is one copy of an optimizer's tensors: per tensor the
// parameter and two state buffers (Adam's m and v; SGD uses only v).
type optimTensors struct{ p, m, v []device.Buffer }

func uploadTensors(t *testing.T, d *Device, p, m, v [][]float32) optimTensors {
	t.Helper()
	var o optimTensors
	for i := range p {
		o.p = append(o.p, upload(t, d, p[i]))
		o.m = append(o.m, upload(t, d, m[i]))
		o.v = append(o.v, upload(t, d, v[i]))
	}
	return o
}

func (o optimTensors) free(d *Device) {
	for _, l := range [][]device.Buffer{o.p, o.m, o.v} {
		for _, b := range l {
			d.Free(b)
		}
	}
}

// requireSameBits downloads a and b and requires them to be equal bit
// for bit.
func requireSameBits(t *testing.T, d *Device, what string, a, b device.Buffer) {
	t.Helper()
	x, y := make([]float32, a.Len()), make([]float32, b.Len())
	require.NoError(t, d.Download32(x, a))
	require.NoError(t, d.Download32(y, b))
	require.Len(t, y, len(x), what)
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			require.Failf(t, "results differ", "%s[%d]: per tensor %v (%#08x), multi-tensor %v (%#08x)",
				what, i, x[i], math.Float32bits(x[i]), y[i], math.Float32bits(y[i]))
		}
	}
}

// TestMultiTensorMatchesPerTensor runs three optimizer steps on tensors of
// multiLengths twice, from the same values: one SGD or Adam call per tensor
// on one copy, one SGDTensors or AdamTensors call on the other. The
// results must be identical bit for bit, each multi-tensor step must be
// one launch, and from the second step on (same buffers, so the cached
// table) it must make no round trip and no device allocation.
func TestMultiTensorMatchesPerTensor(t *testing.T) {
	d := open(t)
	defer d.Close()
	tests := []struct {
		name string
		sgd  *device.SGDConfig // nil: Adam with adam
		adam device.AdamConfig
	}{
		{name: "adam", adam: device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{name: "adam-weight-decay", adam: device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}},
		{name: "adamw-weight-decay", adam: device.AdamConfig{LR: 0.05, Beta1: 0.8, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.05, Decoupled: true}},
		{name: "sgd", sgd: &device.SGDConfig{LR: 0.1}},
		{name: "sgd-weight-decay", sgd: &device.SGDConfig{LR: 0.1, WeightDecay: 0.05}},
		{name: "sgd-momentum-dampening", sgd: &device.SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.3}},
		{name: "sgd-momentum-nesterov-weight-decay", sgd: &device.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}},
	}
	for ti, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(ti)))
			var p, m, v, g [][]float32
			for _, n := range multiLengths {
				p = append(p, randVec(rng, n))
				m = append(m, make([]float32, n))
				vi := make([]float32, n)
				if tc.sgd != nil {
					// The first momentum step must overwrite the velocity.
					for j := range vi {
						vi[j] = float32NaN()
					}
				}
				v = append(v, vi)
				g = append(g, make([]float32, n))
			}
			one, multi := uploadTensors(t, d, p, m, v), uploadTensors(t, d, p, m, v)
			defer one.free(d)
			defer multi.free(d)
			var grads []device.Buffer
			for i := range g {
				grads = append(grads, upload(t, d, g[i]))
			}
			defer func() {
				for _, b := range grads {
					d.Free(b)
				}
			}()
			for step := 1; step <= 3; step++ {
				for i := range g {
					g[i] = randVec(rng, len(g[i]))
					require.NoError(t, d.Upload32(grads[i], g[i]))
				}
				var before, after Stats
				if tc.sgd != nil {
					cfg := *tc.sgd
					cfg.First = step == 1
					vs := one.v
					if cfg.Momentum == 0 {
						vs = nil
					}
					for i := range one.p {
						var vi device.Buffer
						if vs != nil {
							vi = vs[i]
						}
						d.SGD(one.p[i], grads[i], vi, cfg)
					}
					if cfg.Momentum != 0 {
						vs = multi.v
					}
					before = d.Stats()
					d.SGDTensors(multi.p, grads, vs, cfg)
					after = d.Stats()
				} else {
					cfg := tc.adam
					cfg.Step = step
					for i := range one.p {
						d.Adam(one.p[i], grads[i], one.m[i], one.v[i], cfg)
					}
					before = d.Stats()
					d.AdamTensors(multi.p, grads, multi.m, multi.v, cfg)
					after = d.Stats()
				}
				require.NoError(t, d.Sync())
				assert.EqualValues(t, 1, after.Launches-before.Launches, "step %d: launches of the multi-tensor step", step)
				if step > 1 {
					assert.Zero(t, after.RoundTrips-before.RoundTrips, "step %d: round trips of a step with a cached table", step)
					assert.Zero(t, after.DriverAllocs-before.DriverAllocs, "step %d: device allocations of a step with a cached table", step)
				}
				for i, n := range multiLengths {
					what := fmt.Sprintf("step %d, tensor %d (n = %d)", step, i, n)
					requireSameBits(t, d, what+": p", one.p[i], multi.p[i])
					requireSameBits(t, d, what+": v", one.v[i], multi.v[i])
					requireSameBits(t, d, what+": m", one.m[i], multi.m[i])
				}
			}
		})
	}
}

// TestTensorTableCache checks the cache of multi-tensor tables: a table is
// found again by its list of buffers (in order, with their lengths), a new
// list uploads a new table, the oldest of more than maxCachedTables goes,
// results stay those of the per-tensor path throughout, and Close
// forgets the tables.
func TestTensorTableCache(t *testing.T) {
	d := open(t)
	defer d.Close() // after the Close below, a no-op
	rng := rand.New(rand.NewPCG(21, 22))
	const count = maxCachedTables + 2
	var p [][]float32
	for i := range count {
		p = append(p, randVec(rng, 3+5*i))
	}
	zeros := func() [][]float32 {
		z := make([][]float32, count)
		for i := range z {
			z[i] = make([]float32, len(p[i]))
		}
		return z
	}
	one, multi := uploadTensors(t, d, p, zeros(), zeros()), uploadTensors(t, d, p, zeros(), zeros())
	var grads []device.Buffer
	for i := range p {
		grads = append(grads, upload(t, d, randVec(rng, len(p[i]))))
	}
	steps := map[int]int{} // Adam step count per tensor
	// update runs one Adam step on the tensors idx of both copies and
	// returns the round trips of the multi-tensor call.
	update := func(idx ...int) int64 {
		var ps, gs, ms, vs []device.Buffer
		step := steps[idx[0]] + 1
		for _, i := range idx {
			require.Equal(t, step-1, steps[i], "test tensors must be at one step")
			steps[i] = step
			cfg := device.AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step}
			d.Adam(one.p[i], grads[i], one.m[i], one.v[i], cfg)
			ps, gs, ms, vs = append(ps, multi.p[i]), append(gs, grads[i]), append(ms, multi.m[i]), append(vs, multi.v[i])
		}
		before := d.Stats().RoundTrips
		d.AdamTensors(ps, gs, ms, vs, device.AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step})
		trips := d.Stats().RoundTrips - before
		for _, i := range idx {
			requireSameBits(t, d, fmt.Sprintf("tensor %d at step %d", i, step), one.p[i], multi.p[i])
		}
		return trips
	}
	all := make([]int, count)
	for i := range all {
		all[i] = i
	}
	assert.Positive(t, update(all...), "first use of a list uploads its table")
	assert.Zero(t, update(all...), "same list: cached table")
	rev := make([]int, count)
	for i := range rev {
		rev[i] = count - 1 - i
	}
	assert.Positive(t, update(rev...), "the same buffers in another order are another table")
	assert.Zero(t, update(all...), "the first table is still cached")

	// The key is the whole table, lengths included: the same memory
	// reallocated with another length (the allocator hands the freed
	// buffer back) gets a table of its own.
	table := func(x device.Buffer) devPtr {
		d.tables.mu.Lock()
		defer d.tables.mu.Unlock()
		d.tables.words = d.tables.words[:0]
		X := d.buf("test", x, false)
		d.addTensorRef(X, X, X, X)
		ptr, ok := d.tensorTable("test")
		require.True(t, ok)
		return ptr
	}
	x, err := d.Alloc(device.Float32, 100)
	require.NoError(t, err)
	long := table(x)
	d.Free(x)
	y, err := d.Alloc(device.Float32, 99)
	require.NoError(t, err)
	require.Equal(t, x.(*Buffer).ptr, y.(*Buffer).ptr, "the allocator hands the freed memory back")
	assert.NotEqual(t, long, table(y), "same memory, another length: another table")
	d.Free(y)
	x, err = d.Alloc(device.Float32, 100)
	require.NoError(t, err)
	assert.Equal(t, long, table(x), "same memory and length again: the cached table")
	d.Free(x)

	// More lists than the cache holds: the least recently used goes.
	for i := range count {
		assert.Positive(t, update(i), "list of tensor %d alone: new table", i)
	}
	assert.Len(t, d.tables.tables, maxCachedTables)
	assert.Positive(t, update(all...), "the table of all tensors was evicted and is uploaded again")
	assert.Zero(t, update(all...), "and then cached")
	require.NoError(t, d.Sync())

	require.NoError(t, d.Close())
	assert.Empty(t, d.tables.tables, "Close forgets the tables")
}

// TestMultiTensorMisuse checks that list and buffer misuse panics, naming
// the method.
func TestMultiTensorMisuse(t *testing.T) {
	d := open(t)
	defer d.Close()
	a, b := upload(t, d, []float32{1, 2}), upload(t, d, []float32{1, 2, 3})
	c, m, m2, v := upload(t, d, []float32{3, 4}), upload(t, d, []float32{0, 0}), upload(t, d, []float32{0, 0}), upload(t, d, []float32{0, 0})
	l := []device.Buffer{a}
	adam := device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Step: 1}
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"adam list lengths", func() { d.AdamTensors(l, l, l, nil, adam) }, "cuda: AdamTensors: 1 parameters but a list of 0 buffers"},
		{"adam step", func() { d.AdamTensors(l, l, l, l, device.AdamConfig{}) }, "cuda: AdamTensors: step 0, want ≥ 1"},
		{"adam lengths", func() { d.AdamTensors(l, []device.Buffer{b}, l, l, adam) }, "cuda: AdamTensors: lengths 2 and 3 differ"},
		{"adam nil", func() { d.AdamTensors(l, l, []device.Buffer{nil}, l, adam) }, "cuda: AdamTensors: nil buffer"},
		{"sgd list lengths", func() { d.SGDTensors(l, nil, nil, device.SGDConfig{LR: 1}) }, "cuda: SGDTensors: 1 parameters but a list of 0 buffers"},
		{"sgd momentum", func() { d.SGDTensors(l, l, nil, device.SGDConfig{LR: 1, Momentum: 0.9}) }, "cuda: SGDTensors: momentum needs a velocity buffer for tensor 0"},
		{"sgd repeated parameter", func() { d.SGDTensors([]device.Buffer{a, c, a}, []device.Buffer{c, a, c}, nil, device.SGDConfig{LR: 1}) }, "cuda: SGDTensors: tensors 0 and 2 update the same buffer (a parameter listed twice?): their updates would race in one launch"},
		{"adam shared state", func() {
			d.AdamTensors([]device.Buffer{a, c}, []device.Buffer{c, a}, []device.Buffer{m, m2}, []device.Buffer{m2, v}, adam)
		}, "cuda: AdamTensors: tensors 0 and 1 update the same buffer (a parameter listed twice?): their updates would race in one launch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.want, tc.call)
		})
	}
	require.NoError(t, d.Sync())
}
