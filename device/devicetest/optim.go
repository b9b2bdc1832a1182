package devicetest

import (
	"fmt"
	"math"

	"github.com/adjoint-go/adjoint/device"
)

// optimLengths are the parameter tensor sizes of the optimizer checks.
var optimLengths = []int{1, 33, 257}

// optimSteps is the number of consecutive steps of each optimizer check.
const optimSteps = 3

// testSGD checks three consecutive SGD steps per configuration; with
// momentum the first step has First set and a NaN-filled velocity, which
// it must overwrite.
func testSGD(e *env) {
	configs := []struct {
		name string
		cfg  device.SGDConfig
	}{
		{"plain", device.SGDConfig{LR: 0.1}},
		{"weight-decay", device.SGDConfig{LR: 0.1, WeightDecay: 0.05}},
		{"momentum", device.SGDConfig{LR: 0.05, Momentum: 0.9}},
		{"momentum-dampening-weight-decay", device.SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.3, WeightDecay: 0.02}},
		{"nesterov", device.SGDConfig{LR: 0.05, Momentum: 0.8, Nesterov: true}},
		{"nesterov-weight-decay", device.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}},
	}
	for _, c := range configs {
		for _, n := range optimLengths {
			p := e.uniform(n, -1, 1)
			pb := e.upload(p)
			var v []float64
			var vb device.Buffer
			if c.cfg.Momentum != 0 {
				v = filled(n, math.NaN())
				vb = e.upload(v)
			}
			for step := 1; step <= optimSteps; step++ {
				cfg := c.cfg
				cfg.First = step == 1
				what := fmt.Sprintf("SGD(%s %+v, n=%d) step %d", c.name, cfg, n, step)
				g := e.uniform(n, -1, 1)
				gb := e.upload(g)
				e.dev.SGD(pb, gb, vb, cfg)
				refSGD(p, g, v, cfg)
				e.check(what+": p", e.download(pb), p, e.tol*float64(step), one)
				if vb != nil {
					e.check(what+": momentum buffer v", e.download(vb), v, e.tol*float64(step), one)
				}
				e.checkSame(what+": g must be untouched", e.download(gb), g)
			}
		}
	}
}

// testAdam checks three consecutive Adam or AdamW steps per configuration,
// from zero moments.
func testAdam(e *env) {
	configs := []struct {
		name string
		cfg  device.AdamConfig
	}{
		{"adam", device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"adam-weight-decay", device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}},
		{"adamw", device.AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, Decoupled: true}},
		{"adamw-eps", device.AdamConfig{LR: 0.05, Beta1: 0.8, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.05, Decoupled: true}},
	}
	for _, c := range configs {
		for _, n := range optimLengths {
			p := e.uniform(n, -1, 1)
			m, v := make([]float64, n), make([]float64, n)
			pb, mb, vb := e.upload(p), e.upload(m), e.upload(v)
			for step := 1; step <= optimSteps; step++ {
				cfg := c.cfg
				cfg.Step = step
				what := fmt.Sprintf("Adam(%s %+v, n=%d) step %d", c.name, cfg, n, step)
				g := e.uniform(n, -1, 1)
				gb := e.upload(g)
				e.dev.Adam(pb, gb, mb, vb, cfg)
				refAdam(p, g, m, v, cfg)
				tol := e.tol * float64(step)
				e.check(what+": p", e.download(pb), p, tol, one)
				e.check(what+": first moment m", e.download(mb), m, tol, func(int) float64 { return 1e-2 })
				e.check(what+": second moment v", e.download(vb), v, tol, func(int) float64 { return 1e-5 })
				e.checkSame(what+": g must be untouched", e.download(gb), g)
			}
		}
	}
}

// testRMSprop checks three consecutive RMSprop steps per configuration,
// from zero state, with and without weight decay, momentum and centering.
func testRMSprop(e *env) {
	configs := []struct {
		name string
		cfg  device.RMSpropConfig
	}{
		{"rmsprop", device.RMSpropConfig{LR: 0.01, Alpha: 0.99, Eps: 1e-8}},
		{"rmsprop-weight-decay-momentum", device.RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-6, WeightDecay: 0.1, Momentum: 0.9}},
		{"rmsprop-centered", device.RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Centered: true}},
		{"rmsprop-centered-momentum", device.RMSpropConfig{LR: 0.005, Alpha: 0.95, Eps: 1e-4, WeightDecay: 0.05, Momentum: 0.5, Centered: true}},
	}
	for _, c := range configs {
		for _, n := range optimLengths {
			p := e.uniform(n, -1, 1)
			v, gAvg, b := make([]float64, n), make([]float64, n), make([]float64, n)
			pb, vb := e.upload(p), e.upload(v)
			var ab, bb device.Buffer
			if c.cfg.Centered {
				ab = e.upload(gAvg)
			}
			if c.cfg.Momentum > 0 {
				bb = e.upload(b)
			}
			for step := 1; step <= optimSteps; step++ {
				what := fmt.Sprintf("RMSprop(%s %+v, n=%d) step %d", c.name, c.cfg, n, step)
				g := e.uniform(n, -1, 1)
				gb := e.upload(g)
				e.dev.RMSprop(pb, gb, vb, ab, bb, c.cfg)
				refRMSprop(p, g, v, gAvg, b, c.cfg)
				tol := e.tol * float64(step)
				e.check(what+": p", e.download(pb), p, tol, one)
				e.check(what+": square_avg", e.download(vb), v, tol, func(int) float64 { return 1e-5 })
				if ab != nil {
					e.check(what+": grad_avg", e.download(ab), gAvg, tol, func(int) float64 { return 1e-2 })
				}
				if bb != nil {
					e.check(what+": momentum_buffer", e.download(bb), b, tol, one)
				}
				e.checkSame(what+": g must be untouched", e.download(gb), g)
			}
		}
	}
}
