package cpu

import (
	"fmt"

	"github.com/adjoint-go/adjoint/device"
)

// Gather copies the indexed rows of table into y.
func (c *CPU) Gather(table device.Buffer, rows, cols int, index device.Buffer, n int, y device.Buffer) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "Gather"
	T, I, Y := mustBuf(table, name), mustBuf(index, name), mustBuf(y, name)
	checkSame(name, T, I, Y)
	checkNonNegative(name, rows, cols, n)
	checkLen(name, "table", T, rows*cols)
	checkLen(name, "index", I, n)
	checkLen(name, "y", Y, n*cols)
	var bad error
	if T.f64 != nil {
		bad = gather(T.f64, rows, cols, I.f64, n, Y.f64)
	} else {
		bad = gather(T.f32, rows, cols, I.f32, n, Y.f32)
	}
	if bad != nil {
		c.fail(bad)
	}
}

// gather copies rows, zeroing those of bad indices, and returns an error
// naming the first bad index.
func gather[T float](table []T, rows, cols int, index []T, n int, y []T) error {
	var bad error
	for i, t := range index[:n] {
		out := y[i*cols:][:cols]
		r, ok := rowIndex(t, rows)
		if !ok {
			clear(out)
			if bad == nil {
				bad = fmt.Errorf("cpu: Gather: index %d: %v is not an integer in [0, %d): %w", i, t, rows, device.ErrInvalidInput)
			}
			continue
		}
		copy(out, table[r*cols:][:cols])
	}
	return bad
}

// rowIndex converts a stored index to a row of a table of rows rows.
func rowIndex[T float](t T, rows int) (int, bool) {
	if !(t >= 0 && t < T(rows)) || t != T(int(t)) { // NaN fails the first test
		return 0, false
	}
	return int(t), true
}

// ScatterAdd adds each row of eps to the table row its index names, in
// increasing i, after scaling (or clearing) the table.
func (c *CPU) ScatterAdd(eps device.Buffer, n, cols int, index device.Buffer, beta float64, table device.Buffer, rows int) {
	c.call.Lock()
	defer c.call.Unlock()
	const name = "ScatterAdd"
	E, I, T := mustBuf(eps, name), mustBuf(index, name), mustBuf(table, name)
	checkSame(name, E, I, T)
	checkNonNegative(name, rows, cols, n)
	checkLen(name, "table", T, rows*cols)
	checkLen(name, "index", I, n)
	checkLen(name, "eps", E, n*cols)
	if T.f64 != nil {
		scatterAdd(E.f64, n, cols, I.f64, beta, T.f64, rows)
		return
	}
	scatterAdd(E.f32, n, cols, I.f32, beta, T.f32, rows)
}

func scatterAdd[T float](eps []T, n, cols int, index []T, beta float64, table []T, rows int) {
	scaleOrClear(table[:rows*cols], beta)
	for i, t := range index[:n] {
		if r, ok := rowIndex(t, rows); ok {
			dst, src := table[r*cols:][:cols], eps[i*cols:][:cols]
			for j, v := range src {
				dst[j] += v
			}
		}
	}
}
