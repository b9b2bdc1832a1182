package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// gatherShapes are (rows, cols, n) of a table and its indices: repeats,
// rows never named, one column, more indices than rows, and a table wide
// enough that ScatterAdd's CUDA kernel gives each thread one row part.
var gatherShapes = [][3]int{{1, 1, 1}, {5, 3, 0}, {7, 1, 20}, {10, 17, 33}, {33, 65, 129}, {3, 300, 50}, {1000, 96, 257}}

// indices returns n indices of rows, every row of the first few twice or
// more when n allows, the rest at random.
func (e *env) indices(rows, n int) []float64 {
	idx := make([]float64, n)
	for i := range idx {
		if i < 2*min(rows, 4) {
			idx[i] = float64(i % min(rows, 4))
		} else {
			idx[i] = float64(e.rng.IntN(rows))
		}
	}
	e.rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return idx
}

// testGather requires the indexed rows exactly, on a NaN-filled y.
func testGather(e *env) {
	for _, s := range gatherShapes {
		rows, cols, n := s[0], s[1], s[2]
		table, idx := e.uniform(rows*cols, -1, 1), e.indices(rows, n)
		want := make([]float64, 0, n*cols)
		for _, r := range idx {
			want = append(want, table[int(r)*cols:(int(r)+1)*cols]...)
		}
		tb, ib, yb := e.upload(table), e.upload(idx), e.upload(filled(n*cols, math.NaN()))
		e.dev.Gather(tb, rows, cols, ib, n, yb)
		e.checkSame(fmt.Sprintf("Gather(rows=%d, cols=%d, n=%d)", rows, cols, n), e.download(yb), want)
	}
}

// testScatterAdd checks table = β table + the scatter of eps's rows, with
// β = 0 on a NaN-filled table (rows no index names must become 0), 1 and
// 0.5; a row's sum has as many terms as its index occurs.
func testScatterAdd(e *env) {
	for _, s := range gatherShapes {
		rows, cols, n := s[0], s[1], s[2]
		for _, beta := range sumBetas {
			eps, idx := e.uniform(n*cols, -1, 1), e.indices(rows, n)
			table, want, scale := e.betaStart(rows*cols, beta)
			count := make([]int, rows)
			for i, r := range idx {
				count[int(r)]++
				for j := range cols {
					want[int(r)*cols+j] += eps[i*cols+j]
					scale[int(r)*cols+j] += math.Abs(eps[i*cols+j])
				}
			}
			eb, ib, tb := e.upload(eps), e.upload(idx), e.upload(table)
			e.dev.ScatterAdd(eb, n, cols, ib, beta, tb, rows)
			most := 1
			for _, c := range count {
				most = max(most, c)
			}
			tol := e.tol * math.Sqrt(float64(most+1))
			e.check(fmt.Sprintf("ScatterAdd(rows=%d, cols=%d, n=%d, beta=%g)", rows, cols, n, beta), e.download(tb), want, tol,
				func(k int) float64 { return scale[k] })
		}
	}
}

// testGatherErrorReporting: a Gather whose index 2 is not a row (rows, then
// 1.5, then NaN in later runs) writes zeros there, the other rows right,
// and is reported as a bad class index is (see testErrorReporting): Sync
// returns nil, or an error wrapping ErrInvalidInput until the device is
// told the batch is done, and the device goes on.
func testGatherErrorReporting(t *testing.T, dev device.Device, dt device.DType) {
	e := &env{suite: &suite{dev: dev, dt: dt}, t: t}
	defer func() {
		for _, b := range e.bufs {
			dev.Free(b)
		}
	}()
	const rows, cols, n = 4, 3, 4
	table := e.round([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	tb, yb := e.upload(table), e.upload(filled(n*cols, 7))
	for _, bad := range []float64{rows, 1.5, math.NaN(), -1} {
		what := fmt.Sprintf("Gather with index %v of %d rows at 2", bad, rows)
		ib := e.upload([]float64{3, 0, bad, 1})
		dev.Gather(tb, rows, cols, ib, n, yb)
		err := dev.Sync()
		if err != nil {
			t.Logf("%s: Sync reports %v", what, err)
			require.ErrorIs(t, err, device.ErrInvalidInput, "%s: a failure of the data, not of the device", what)
			c, ok := dev.(device.InputErrClearer)
			if !ok {
				return // the error stays: the device cannot be told the batch is done
			}
			c.ClearInputErr()
		}
		want := append(append(append(append([]float64{}, table[9:12]...), table[0:3]...), 0, 0, 0), table[3:6]...)
		e.checkSame(what, e.download(yb), want)
		require.NoError(t, dev.Sync(), "%s: Sync after the batch", what)
	}
}
