package cpu

import "testing"

// TestInterior: interior's columns are exactly those whose taps all fall
// inside the line, for every small geometry.
func TestInterior(t *testing.T) {
	for w := 1; w <= 9; w++ {
		for span := 1; span <= 7; span++ {
			for stride := 1; stride <= 3; stride++ {
				for pad := 0; pad <= 5; pad++ {
					ow := (w+2*pad-span)/stride + 1
					if w+2*pad < span {
						continue // no output column
					}
					jlo, jhi := interior(ow, w, span, stride, pad)
					for j := range ow {
						w0 := j*stride - pad
						inside := w0 >= 0 && w0+span <= w
						if got := j >= jlo && j < jhi; got != inside {
							t.Fatalf("w %d span %d stride %d pad %d: column %d inside %v, interior [%d, %d)", w, span, stride, pad, j, inside, jlo, jhi)
						}
					}
				}
			}
		}
	}
}
