package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Recurrent layers: torch.nn.LSTM and torch.nn.GRU, stacked (num_layers)
// and bidirectional, built from tape ops, so that backpropagation through
// time is the tape's replay of the unrolled steps. For each layer and
// direction, the input projections of every step are one product before
// the loop,
//
//	P = X W_ihᵀ + b_ih         X [L·N × In] → P [L·N × G·H]   (one GEMM)
//	for each step t (L−1 … 0 in reverse):  gates_t = P_t + h W_hhᵀ + b_hh
//
// (G = 4 gates for an LSTM, 3 for a GRU), and each step's gates are split
// into their blocks of H columns in torch's order. A bidirectional layer
// runs a second set of weights over the reversed sequence and joins the
// two hidden states of each step, [h_fwd | h_bwd]; a stacked layer reads
// the layer below's output. Sequences are [L, N, In] (torch's default)
// or, with BatchFirst, [N, L, In]; the output is the last layer's hidden
// state at every step, [L, N, D·H] (or [N, L, D·H]), D = 2 when
// bidirectional, and the states are torch's [Layers·D, N, H].

// RecurrentConfig sizes an LSTM or a GRU as torch's constructor
// arguments do.
type RecurrentConfig struct {
	Input, Hidden int
	Layers        int  // stacked layers, torch's num_layers; 0 means 1
	Bidirectional bool // a second direction over the reversed sequence
	BatchFirst    bool // [N, L, ·] sequences, torch's batch_first=True
	// Dropout is torch's dropout: a Dropout of this probability on the
	// output of every layer but the last, in training mode (SetTraining);
	// the layers' masks come from Seed, Seed+1, … (see Dropout).
	Dropout float64
	Seed    uint64
	// DType is the parameters' (device.Float64 on the cpu device, for
	// gradient checks); 0 means device.Float32.
	DType device.DType
}

// RecurrentWeights are one layer's weights in one direction: W_ih [G·H,
// In], W_hh [G·H, H], b_ih and b_hh [G·H], the gates' blocks of H rows in
// torch's order.
type RecurrentWeights struct {
	WeightIH, WeightHH, BiasIH, BiasHH *autograd.Var
}

// recurrent holds what LSTM and GRU share.
type recurrent struct {
	Input, Hidden, Layers int
	Bidirectional         bool
	// BatchFirst takes and returns [N, L, ·] sequences (torch's
	// batch_first=True); the default is [L, N, ·].
	BatchFirst bool
	// Weights are indexed by layer·D + direction: torch's _l0, _l0_reverse,
	// _l1, … parameters.
	Weights []RecurrentWeights
	// Dropouts follow every layer but the last (none without
	// RecurrentConfig.Dropout).
	Dropouts []*Dropout
	dropout  float64 // RecurrentConfig.Dropout, for the repr
}

// newRecurrent checks cfg and draws every parameter from U(−1/√H, 1/√H),
// torch's initialisation, in the order of torch's parameters.
func newRecurrent(dev device.Device, kind string, gates int, cfg RecurrentConfig, rng *rand.Rand) (recurrent, error) {
	name := fmt.Sprintf("New%s(%d, %d)", kind, cfg.Input, cfg.Hidden)
	if cfg.Input <= 0 || cfg.Hidden <= 0 || cfg.Layers < 0 {
		return recurrent{}, fmt.Errorf("nn: %s: input and hidden sizes must be positive, and layers not negative", name)
	}
	if !validP(cfg.Dropout) {
		return recurrent{}, fmt.Errorf("nn: %s: dropout %v: want a probability in [0, 1]", name, cfg.Dropout)
	}
	dt := cfg.DType
	if dt == 0 {
		dt = device.Float32
	}
	if dt != device.Float32 && dt != device.Float64 {
		return recurrent{}, fmt.Errorf("nn: %s: dtype %v is not float32 or float64", name, dt)
	}
	r := recurrent{Input: cfg.Input, Hidden: cfg.Hidden, Layers: max(cfg.Layers, 1), Bidirectional: cfg.Bidirectional, BatchFirst: cfg.BatchFirst}
	r.dropout = cfg.Dropout
	if cfg.Dropout > 0 {
		for i := range r.Layers - 1 {
			r.Dropouts = append(r.Dropouts, &Dropout{P: cfg.Dropout, seed: cfg.Seed + uint64(i)})
		}
	}
	g, h := gates*cfg.Hidden, cfg.Hidden
	for layer := range r.Layers {
		in := cfg.Input
		if layer > 0 {
			in = r.dirs() * h
		}
		for range r.dirs() {
			ts, err := initParams(dev, dt, 1/math.Sqrt(float64(h)), rng, []int{g, in}, []int{g, h}, []int{g}, []int{g})
			if err != nil {
				r.release()
				return recurrent{}, fmt.Errorf("nn: %s: %w", name, err)
			}
			r.Weights = append(r.Weights, RecurrentWeights{autograd.NewParam("weight_ih", ts[0]), autograd.NewParam("weight_hh", ts[1]),
				autograd.NewParam("bias_ih", ts[2]), autograd.NewParam("bias_hh", ts[3])})
		}
	}
	return r, nil
}

// release frees the parameters drawn so far (a failed constructor).
func (r *recurrent) release() {
	for _, p := range r.Params() {
		p.Release()
	}
}

// dirs is D: 2 when bidirectional, else 1.
func (r *recurrent) dirs() int {
	if r.Bidirectional {
		return 2
	}
	return 1
}

// Params lists the parameters in torch's order: per layer and direction,
// W_ih, W_hh, b_ih, b_hh.
func (r *recurrent) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, w := range r.Weights {
		ps = append(ps, w.WeightIH, w.WeightHH, w.BiasIH, w.BiasHH)
	}
	return ps
}

// NamedParams names the parameters as torch's state_dict does:
// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then _l0_reverse
// when bidirectional, then _l1, ….
func (r *recurrent) NamedParams() []NamedParam {
	var ps []NamedParam
	for i, w := range r.Weights {
		suffix := fmt.Sprintf("_l%d", i/r.dirs())
		if i%r.dirs() == 1 {
			suffix += "_reverse"
		}
		ps = append(ps, NamedParam{"weight_ih" + suffix, w.WeightIH}, NamedParam{"weight_hh" + suffix, w.WeightHH},
			NamedParam{"bias_ih" + suffix, w.BiasIH}, NamedParam{"bias_hh" + suffix, w.BiasHH})
	}
	return ps
}

// step is one cell's update: from the step's gates (the input part and
// the recurrent part, each split into blocks of H) and the previous
// states, the new states. c is nil for a GRU.
type step func(tp *autograd.Tape, in, rec []*autograd.Var, h, c *autograd.Var) (h2, c2 *autograd.Var)

// run runs x through every layer and direction from the initial states
// h0 and c0 [Layers·D, N, H] (zeros when nil; c0 unused when hasCell is
// false) and returns the last layer's output and the last states.
func (r *recurrent) run(tp *autograd.Tape, kind string, gates int, hasCell bool, cell step, x, h0, c0 *autograd.Var) (y, hN, cN *autograd.Var) {
	xs := x.Shape()
	if len(xs) != 3 || xs[2] != r.Input {
		panic(fmt.Sprintf("nn: %s: input %v: want [L, N, %d] (or [N, L, %d] with BatchFirst)", kind, xs, r.Input, r.Input))
	}
	if r.BatchFirst {
		x = tp.SwapAxes(x, 0, 1)
	}
	l, n := x.Shape()[0], x.Shape()[1]
	states := len(r.Weights)
	initial := func(name string, s *autograd.Var, i int) *autograd.Var {
		if s == nil { // zeros filled on the device: no host slice, no upload
			z := tp.Temp(n, r.Hidden)
			if !z.Valid() {
				return x // the tape has failed: later ops do nothing
			}
			tp.Device().Fill(z.Buffer(), 0)
			return tp.Constant(z)
		}
		if sh := s.Shape(); len(sh) != 3 || sh[0] != states || sh[1] != n || sh[2] != r.Hidden {
			panic(fmt.Sprintf("nn: %s: %s %v: want [Layers·D, N, H] = [%d, %d, %d]", kind, name, sh, states, n, r.Hidden))
		}
		return tp.Reshape(tp.Slice(s, 0, i, i+1), n, r.Hidden)
	}
	sizes := make([]int, gates)
	for i := range sizes {
		sizes[i] = r.Hidden
	}
	var lastH, lastC []*autograd.Var
	for layer := range r.Layers {
		var outs []*autograd.Var // each direction's hidden states [L, N, H]
		for dir := range r.dirs() {
			i := layer*r.dirs() + dir
			w := r.Weights[i]
			in := x.Shape()[2]
			proj := tp.Reshape(tp.Linear(tp.Reshape(x, l*n, in), w.WeightIH, w.BiasIH, device.Identity), l, n, gates*r.Hidden)
			h := initial("h0", h0, i)
			var c *autograd.Var
			if hasCell {
				c = initial("c0", c0, i)
			}
			hs := make([]*autograd.Var, l)
			for k := range l {
				t := k
				if dir == 1 {
					t = l - 1 - k
				}
				pt := tp.Reshape(tp.Slice(proj, 0, t, t+1), n, gates*r.Hidden)
				rec := tp.Linear(h, w.WeightHH, w.BiasHH, device.Identity)
				h, c = cell(tp, tp.Split(pt, 1, sizes...), tp.Split(rec, 1, sizes...), h, c)
				hs[t] = tp.Reshape(h, 1, n, r.Hidden)
			}
			outs = append(outs, tp.Concat(0, hs...))
			lastH = append(lastH, tp.Reshape(h, 1, n, r.Hidden))
			if hasCell {
				lastC = append(lastC, tp.Reshape(c, 1, n, r.Hidden))
			}
		}
		x = outs[0]
		if len(outs) == 2 {
			x = tp.Concat(2, outs...) // [h_fwd | h_bwd] per step
		}
		if layer < len(r.Dropouts) {
			x = r.Dropouts[layer].Forward(tp, x)
		}
	}
	y = x
	if r.BatchFirst {
		y = tp.SwapAxes(y, 0, 1)
	}
	hN = tp.Concat(0, lastH...)
	if hasCell {
		cN = tp.Concat(0, lastC...)
	}
	return y, hN, cN
}

// SetTraining switches the dropouts between layers between training
// (on) and evaluation mode, as torch's module.train() and eval() do.
func (r *recurrent) SetTraining(on bool) {
	for _, d := range r.Dropouts {
		d.SetTraining(on)
	}
}

// repr is torch's repr of a recurrent layer.
func (r *recurrent) repr(kind string) string {
	s := fmt.Sprintf("%s(%d, %d", kind, r.Input, r.Hidden)
	if r.Layers > 1 {
		s += fmt.Sprintf(", num_layers=%d", r.Layers)
	}
	if r.BatchFirst {
		s += ", batch_first=True"
	}
	if r.dropout > 0 {
		s += fmt.Sprintf(", dropout=%g", r.dropout)
	}
	if r.Bidirectional {
		s += ", bidirectional=True"
	}
	return s + ")"
}

// LSTM is torch.nn.LSTM: per layer, direction and step,
//
//	i = σ(P_i + h W_hiᵀ + b_hi)    f = σ(P_f + h W_hfᵀ + b_hf)
//	g = tanh(P_g + h W_hgᵀ + b_hg) o = σ(P_o + h W_hoᵀ + b_ho)
//	c' = f ⊙ c + i ⊙ g             h' = o ⊙ tanh(c')
//
// with torch's gate order i, f, g, o in the rows of the weights.
type LSTM struct{ recurrent }

// NewLSTM allocates a float32 LSTM of one layer and one direction on dev
// (torch.nn.LSTM(input, hidden)); NewLSTMConfig takes the other options.
func NewLSTM(dev device.Device, input, hidden int, rng *rand.Rand) (*LSTM, error) {
	return NewLSTMConfig(dev, RecurrentConfig{Input: input, Hidden: hidden}, rng)
}

// NewLSTMConfig allocates an LSTM on dev with torch's initialisation,
// every parameter from U(−1/√Hidden, 1/√Hidden), drawn from rng in the
// order of Params.
func NewLSTMConfig(dev device.Device, cfg RecurrentConfig, rng *rand.Rand) (*LSTM, error) {
	r, err := newRecurrent(dev, "LSTM", 4, cfg, rng)
	if err != nil {
		return nil, err
	}
	return &LSTM{r}, nil
}

// Forward returns the last layer's hidden state at every step, from zero
// initial states.
func (m *LSTM) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y, _, _ := m.ForwardState(tp, x, nil, nil)
	return y
}

// ForwardState runs the sequence x from the initial states h0 and c0
// [Layers·D, N, H] (zeros when nil) and returns the output and the last
// states h and c [Layers·D, N, H], as torch's lstm(x, (h0, c0)).
func (m *LSTM) ForwardState(tp *autograd.Tape, x, h0, c0 *autograd.Var) (y, h, c *autograd.Var) {
	if tp.Failed() {
		return x, x, x
	}
	return m.run(tp, "LSTM", 4, true, lstmStep, x, h0, c0)
}

func lstmStep(tp *autograd.Tape, in, rec []*autograd.Var, h, c *autograd.Var) (*autograd.Var, *autograd.Var) {
	i := tp.Sigmoid(tp.Add(in[0], rec[0]))
	f := tp.Sigmoid(tp.Add(in[1], rec[1]))
	g := tp.Tanh(tp.Add(in[2], rec[2]))
	o := tp.Sigmoid(tp.Add(in[3], rec[3]))
	c = tp.Add(tp.Mul(f, c), tp.Mul(i, g))
	return tp.Mul(o, tp.Tanh(c)), c
}

// String prints the layer as torch prints it.
func (m *LSTM) String() string { return m.repr("LSTM") }

// GRU is torch.nn.GRU: per layer, direction and step,
//
//	r = σ(P_r + h W_hrᵀ + b_hr)    z = σ(P_z + h W_hzᵀ + b_hz)
//	n = tanh(P_n + r ⊙ (h W_hnᵀ + b_hn))
//	h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
//
// with torch's gate order r, z, n in the rows of the weights.
type GRU struct{ recurrent }

// NewGRU allocates a float32 GRU of one layer and one direction on dev
// (torch.nn.GRU(input, hidden)); NewGRUConfig takes the other options.
func NewGRU(dev device.Device, input, hidden int, rng *rand.Rand) (*GRU, error) {
	return NewGRUConfig(dev, RecurrentConfig{Input: input, Hidden: hidden}, rng)
}

// NewGRUConfig allocates a GRU on dev with torch's initialisation, as
// NewLSTMConfig.
func NewGRUConfig(dev device.Device, cfg RecurrentConfig, rng *rand.Rand) (*GRU, error) {
	r, err := newRecurrent(dev, "GRU", 3, cfg, rng)
	if err != nil {
		return nil, err
	}
	return &GRU{r}, nil
}

// Forward returns the last layer's hidden state at every step, from zero
// initial states.
func (m *GRU) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y, _ := m.ForwardState(tp, x, nil)
	return y
}

// ForwardState runs the sequence x from the initial state h0 [Layers·D,
// N, H] (zeros when nil) and returns the output and the last state h
// [Layers·D, N, H], as torch's gru(x, h0).
func (m *GRU) ForwardState(tp *autograd.Tape, x, h0 *autograd.Var) (y, h *autograd.Var) {
	if tp.Failed() {
		return x, x
	}
	y, h, _ = m.run(tp, "GRU", 3, false, gruStep, x, h0, nil)
	return y, h
}

func gruStep(tp *autograd.Tape, in, rec []*autograd.Var, h, _ *autograd.Var) (*autograd.Var, *autograd.Var) {
	r := tp.Sigmoid(tp.Add(in[0], rec[0]))
	z := tp.Sigmoid(tp.Add(in[1], rec[1]))
	n := tp.Tanh(tp.Add(in[2], tp.Mul(r, rec[2])))
	return tp.Add(n, tp.Mul(z, tp.Sub(h, n))), nil
}

// String prints the layer as torch prints it.
func (m *GRU) String() string { return m.repr("GRU") }
