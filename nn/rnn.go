package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
)

// Recurrent layers: torch.nn.LSTM and torch.nn.GRU of one layer, one
// direction, built from tape ops, so that backpropagation through time
// is the tape's replay of the unrolled steps. The input projections of
// every step are one product before the loop,
//
//	P = X W_ihᵀ + b_ih         X [L·N × In] → P [L·N × G·H]   (one GEMM)
//	for t = 0 … L−1:  gates_t = P_t + h_{t−1} W_hhᵀ + b_hh     (a GEMM per step)
//
// (G = 4 gates for an LSTM, 3 for a GRU), and each step's gates are split
// into their blocks of H columns in torch's order. Sequences are [L, N,
// In] (torch's default) or, with BatchFirst, [N, L, In]; the output is
// every step's hidden state, [L, N, H] (or [N, L, H]).

// recurrent holds what LSTM and GRU share: the sizes and torch's four
// parameters weight_ih_l0 [G·H, In], weight_hh_l0 [G·H, H], bias_ih_l0
// and bias_hh_l0 [G·H].
type recurrent struct {
	Input, Hidden int
	// BatchFirst takes and returns [N, L, ·] sequences (torch's
	// batch_first=True); the default is [L, N, ·].
	BatchFirst                         bool
	WeightIH, WeightHH, BiasIH, BiasHH *autograd.Var
}

// newRecurrent draws the four parameters from U(−1/√H, 1/√H), torch's
// initialisation, in the order of torch's parameters.
func newRecurrent(dev device.Device, dt device.DType, name string, gates, input, hidden int, rng *rand.Rand) (recurrent, error) {
	if input <= 0 || hidden <= 0 {
		return recurrent{}, fmt.Errorf("nn: %s: input and hidden sizes must be positive", name)
	}
	if dt != device.Float32 && dt != device.Float64 {
		return recurrent{}, fmt.Errorf("nn: %s: dtype %v is not float32 or float64", name, dt)
	}
	g := gates * hidden
	ts, err := initParams(dev, dt, 1/math.Sqrt(float64(hidden)), rng, []int{g, input}, []int{g, hidden}, []int{g}, []int{g})
	if err != nil {
		return recurrent{}, fmt.Errorf("nn: %s: %w", name, err)
	}
	return recurrent{Input: input, Hidden: hidden,
		WeightIH: autograd.NewParam("weight_ih_l0", ts[0]), WeightHH: autograd.NewParam("weight_hh_l0", ts[1]),
		BiasIH: autograd.NewParam("bias_ih_l0", ts[2]), BiasHH: autograd.NewParam("bias_hh_l0", ts[3])}, nil
}

// Params is [WeightIH, WeightHH, BiasIH, BiasHH], torch's order.
func (r *recurrent) Params() []*autograd.Var {
	return []*autograd.Var{r.WeightIH, r.WeightHH, r.BiasIH, r.BiasHH}
}

// NamedParams names the parameters as torch's state_dict does.
func (r *recurrent) NamedParams() []NamedParam {
	return []NamedParam{{"weight_ih_l0", r.WeightIH}, {"weight_hh_l0", r.WeightHH}, {"bias_ih_l0", r.BiasIH}, {"bias_hh_l0", r.BiasHH}}
}

// steps checks x and returns it time-major, [L, N, In], with L and N, and
// the input projections P [L, N, G·H].
func (r *recurrent) steps(tp *autograd.Tape, kind string, x *autograd.Var) (proj *autograd.Var, l, n int) {
	xs := x.Shape()
	if len(xs) != 3 || xs[2] != r.Input {
		panic(fmt.Sprintf("nn: %s: input %v: want [L, N, %d] (or [N, L, %d] with BatchFirst)", kind, xs, r.Input, r.Input))
	}
	if r.BatchFirst {
		x = tp.SwapAxes(x, 0, 1)
		xs = x.Shape()
	}
	l, n = xs[0], xs[1]
	flat := tp.Reshape(x, l*n, r.Input)
	p := tp.Linear(flat, r.WeightIH, r.BiasIH, device.Identity)
	return tp.Reshape(p, l, n, -1), l, n
}

// initial returns h0 as given, or zeros [N, H] (torch's default).
func (r *recurrent) initial(tp *autograd.Tape, kind, name string, h0 *autograd.Var, n int) *autograd.Var {
	if h0 == nil {
		return tp.ConstantFloat32(make([]float32, n*r.Hidden), n, r.Hidden)
	}
	if s := h0.Shape(); len(s) != 2 || s[0] != n || s[1] != r.Hidden {
		panic(fmt.Sprintf("nn: %s: %s %v: want [N, H] = [%d, %d]", kind, name, s, n, r.Hidden))
	}
	return h0
}

// gates returns step t's gates P_t + h W_hhᵀ + b_hh, split into its
// blocks of H columns.
func (r *recurrent) gates(tp *autograd.Tape, proj *autograd.Var, t, n int, h *autograd.Var, blocks int) []*autograd.Var {
	pt := tp.Reshape(tp.Slice(proj, 0, t, t+1), n, blocks*r.Hidden)
	rec := tp.Linear(h, r.WeightHH, r.BiasHH, device.Identity)
	sizes := make([]int, blocks)
	for i := range sizes {
		sizes[i] = r.Hidden
	}
	return append(tp.Split(pt, 1, sizes...), tp.Split(rec, 1, sizes...)...)
}

// output stacks the steps' hidden states [N, H] into [L, N, H] (or [N, L,
// H] with BatchFirst).
func (r *recurrent) output(tp *autograd.Tape, hs []*autograd.Var) *autograd.Var {
	rows := make([]*autograd.Var, len(hs))
	for i, h := range hs {
		s := h.Shape()
		rows[i] = tp.Reshape(h, 1, s[0], s[1])
	}
	y := tp.Concat(0, rows...)
	if r.BatchFirst {
		y = tp.SwapAxes(y, 0, 1)
	}
	return y
}

// LSTM is torch.nn.LSTM(Input, Hidden) of one layer:
//
//	i = σ(P_i + h W_hiᵀ + b_hi)    f = σ(P_f + h W_hfᵀ + b_hf)
//	g = tanh(P_g + h W_hgᵀ + b_hg) o = σ(P_o + h W_hoᵀ + b_ho)
//	c' = f ⊙ c + i ⊙ g             h' = o ⊙ tanh(c')
//
// with torch's gate order i, f, g, o in the rows of the weights.
type LSTM struct{ recurrent }

// NewLSTM allocates a float32 LSTM on dev with torch's initialisation,
// every parameter from U(−1/√Hidden, 1/√Hidden), drawn from rng in the
// order of Params.
func NewLSTM(dev device.Device, input, hidden int, rng *rand.Rand) (*LSTM, error) {
	return NewLSTMDType(dev, device.Float32, input, hidden, rng)
}

// NewLSTMDType is NewLSTM with parameters of dtype dt (device.Float64 on
// the cpu device, for gradient checks).
func NewLSTMDType(dev device.Device, dt device.DType, input, hidden int, rng *rand.Rand) (*LSTM, error) {
	r, err := newRecurrent(dev, dt, fmt.Sprintf("NewLSTM(%d, %d)", input, hidden), 4, input, hidden, rng)
	if err != nil {
		return nil, err
	}
	return &LSTM{r}, nil
}

// Forward returns every step's hidden state from zero initial states.
func (m *LSTM) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y, _, _ := m.ForwardState(tp, x, nil, nil)
	return y
}

// ForwardState runs the sequence x from the initial states h0 and c0 [N,
// H] (zeros when nil) and returns every step's hidden state and the last
// step's h and c, as torch's lstm(x, (h0, c0)) without its layer axis.
func (m *LSTM) ForwardState(tp *autograd.Tape, x, h0, c0 *autograd.Var) (y, h, c *autograd.Var) {
	if tp.Failed() {
		return x, x, x
	}
	proj, l, n := m.steps(tp, "LSTM", x)
	h, c = m.initial(tp, "LSTM", "h0", h0, n), m.initial(tp, "LSTM", "c0", c0, n)
	hs := make([]*autograd.Var, l)
	for t := range l {
		g := m.gates(tp, proj, t, n, h, 4)
		i := tp.Sigmoid(tp.Add(g[0], g[4]))
		f := tp.Sigmoid(tp.Add(g[1], g[5]))
		cand := tp.Tanh(tp.Add(g[2], g[6]))
		o := tp.Sigmoid(tp.Add(g[3], g[7]))
		c = tp.Add(tp.Mul(f, c), tp.Mul(i, cand))
		h = tp.Mul(o, tp.Tanh(c))
		hs[t] = h
	}
	return m.output(tp, hs), h, c
}

// String prints the layer as torch prints it.
func (m *LSTM) String() string { return rnnRepr("LSTM", m.recurrent) }

// GRU is torch.nn.GRU(Input, Hidden) of one layer:
//
//	r = σ(P_r + h W_hrᵀ + b_hr)    z = σ(P_z + h W_hzᵀ + b_hz)
//	n = tanh(P_n + r ⊙ (h W_hnᵀ + b_hn))
//	h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
//
// with torch's gate order r, z, n in the rows of the weights.
type GRU struct{ recurrent }

// NewGRU allocates a float32 GRU on dev with torch's initialisation, as
// NewLSTM.
func NewGRU(dev device.Device, input, hidden int, rng *rand.Rand) (*GRU, error) {
	return NewGRUDType(dev, device.Float32, input, hidden, rng)
}

// NewGRUDType is NewGRU with parameters of dtype dt.
func NewGRUDType(dev device.Device, dt device.DType, input, hidden int, rng *rand.Rand) (*GRU, error) {
	r, err := newRecurrent(dev, dt, fmt.Sprintf("NewGRU(%d, %d)", input, hidden), 3, input, hidden, rng)
	if err != nil {
		return nil, err
	}
	return &GRU{r}, nil
}

// Forward returns every step's hidden state from a zero initial state.
func (m *GRU) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	y, _ := m.ForwardState(tp, x, nil)
	return y
}

// ForwardState runs the sequence x from the initial state h0 [N, H]
// (zeros when nil) and returns every step's hidden state and the last
// one, as torch's gru(x, h0) without its layer axis.
func (m *GRU) ForwardState(tp *autograd.Tape, x, h0 *autograd.Var) (y, h *autograd.Var) {
	if tp.Failed() {
		return x, x
	}
	proj, l, n := m.steps(tp, "GRU", x)
	h = m.initial(tp, "GRU", "h0", h0, n)
	hs := make([]*autograd.Var, l)
	for t := range l {
		g := m.gates(tp, proj, t, n, h, 3)
		r := tp.Sigmoid(tp.Add(g[0], g[3]))
		z := tp.Sigmoid(tp.Add(g[1], g[4]))
		cand := tp.Tanh(tp.Add(g[2], tp.Mul(r, g[5])))
		h = tp.Add(cand, tp.Mul(z, tp.Sub(h, cand)))
		hs[t] = h
	}
	return m.output(tp, hs), h
}

// String prints the layer as torch prints it.
func (m *GRU) String() string { return rnnRepr("GRU", m.recurrent) }

// rnnRepr is torch's repr of a one-layer recurrent layer.
func rnnRepr(kind string, r recurrent) string {
	s := fmt.Sprintf("%s(%d, %d", kind, r.Input, r.Hidden)
	if r.BatchFirst {
		s += ", batch_first=True"
	}
	return s + ")"
}
