package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/tensor"
)

// MultiheadAttention is torch.nn.MultiheadAttention(Embed, Heads,
// batch_first=True) without dropout: inputs are [B, T, Embed], and with
// d = Embed/Heads,
//
//	q, k, v = x Wqᵀ + bq, x Wkᵀ + bk, x Wvᵀ + bv      (rows of InProjWeight, InProjBias)
//	each split into Heads heads: [B, T, Embed] → [B, Heads, T, d]
//	a = softmax(q kᵀ/√d + mask) v                      (per head)
//	y = concat(heads) OutProjᵀ + b                     [B, T, Embed]
//
// Its state_dict names are torch's: in_proj_weight [3·Embed, Embed],
// in_proj_bias [3·Embed], out_proj.weight and out_proj.bias, so torch
// loads a checkpoint with load_state_dict(strict=True) and computes the
// same outputs.
type MultiheadAttention struct {
	Embed, Heads int
	InProjWeight *autograd.Var // [3·Embed, Embed]: Wq, Wk, Wv stacked
	InProjBias   *autograd.Var // [3·Embed]
	OutProj      *Linear
}

// NewMultiheadAttention allocates a float32 layer with torch's
// initialisation: InProjWeight Xavier-uniform, U(±√(6/(Embed + 3·Embed)))
// over the stacked [3·Embed, Embed] matrix, as torch draws it; biases 0;
// OutProj's weight as a Linear layer's. Values come from rng, not torch's
// generator. Embed must be a multiple of Heads.
func NewMultiheadAttention(dev device.Device, embed, heads int, rng *rand.Rand) (*MultiheadAttention, error) {
	name := fmt.Sprintf("NewMultiheadAttention(%d, %d)", embed, heads)
	if embed <= 0 || heads <= 0 || embed%heads != 0 {
		return nil, fmt.Errorf("nn: %s: the embedding size must be a positive multiple of the heads", name)
	}
	ts, err := initParams(dev, device.Float32, math.Sqrt(6/float64(embed+3*embed)), rng, []int{3 * embed, embed})
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	inW := ts[0]
	inB, err := tensor.Zeros(dev, device.Float32, 3*embed)
	if err != nil {
		inW.Release()
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	out, err := NewLinear(dev, embed, embed, rng)
	if err != nil {
		inW.Release()
		inB.Release()
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	dev.Fill(out.Bias.Value().Buffer(), 0) // torch zeroes out_proj.bias
	return &MultiheadAttention{Embed: embed, Heads: heads,
		InProjWeight: autograd.NewParam("in_proj_weight", inW), InProjBias: autograd.NewParam("in_proj_bias", inB), OutProj: out}, nil
}

// Forward is self-attention: Attend(tp, x, x, x, nil).
func (m *MultiheadAttention) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return m.Attend(tp, x, x, x, nil)
}

// Attend computes attention of query [B, T, Embed] over key and value
// [B, S, Embed]. mask, when not nil, is added to the scores q kᵀ/√d before
// the softmax, broadcast over [B, Heads, T, S] (torch's float attn_mask: a
// [T, S] of 0 and −∞ is a causal or padding mask). When query, key and
// value are one Var, the three projections are one product.
func (m *MultiheadAttention) Attend(tp *autograd.Tape, query, key, value, mask *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return query // a failed tape's Vars have no shape to check
	}
	qs, ks := query.Shape(), key.Shape()
	if len(qs) != 3 || qs[2] != m.Embed || len(ks) != 3 || ks[2] != m.Embed || !sameShape(ks, value.Shape()) || ks[0] != qs[0] {
		panic(fmt.Sprintf("nn: MultiheadAttention(%d, %d): query %v, key %v, value %v: want [B, T, %d] and two [B, S, %d]",
			m.Embed, m.Heads, qs, ks, value.Shape(), m.Embed, m.Embed))
	}
	b, t, s, e := qs[0], qs[1], ks[1], m.Embed
	var q, k, v *autograd.Var
	if query == key && key == value {
		qkv := tp.Linear(tp.Reshape(query, b*t, e), m.InProjWeight, m.InProjBias, device.Identity)
		parts := tp.Split(qkv, 1, e, e, e)
		q, k, v = parts[0], parts[1], parts[2]
	} else {
		project := func(x *autograd.Var, i, rows int) *autograd.Var {
			w := tp.Slice(m.InProjWeight, 0, i*e, (i+1)*e)
			bias := tp.Slice(m.InProjBias, 0, i*e, (i+1)*e)
			return tp.Linear(tp.Reshape(x, b*rows, e), w, bias, device.Identity)
		}
		q, k, v = project(query, 0, t), project(key, 1, s), project(value, 2, s)
	}
	d := e / m.Heads
	heads := func(x *autograd.Var, rows int) *autograd.Var { // [B·rows, E] → [B, H, rows, d]
		return tp.SwapAxes(tp.Reshape(x, b, rows, m.Heads, d), 1, 2)
	}
	scores := tp.Scale(tp.MatMulT(heads(q, t), heads(k, s), false, true), 1/math.Sqrt(float64(d)))
	if mask != nil {
		scores = tp.Add(scores, mask)
	}
	a := tp.MatMul(tp.Softmax(scores), heads(v, s)) // [B, H, T, d]
	a = tp.Reshape(tp.SwapAxes(a, 1, 2), b*t, e)
	return tp.Reshape(m.OutProj.Forward(tp, a), b, t, e)
}

// Params is [InProjWeight, InProjBias, OutProj.Weight, OutProj.Bias].
func (m *MultiheadAttention) Params() []*autograd.Var {
	return append([]*autograd.Var{m.InProjWeight, m.InProjBias}, m.OutProj.Params()...)
}

// NamedParams uses torch's names.
func (m *MultiheadAttention) NamedParams() []NamedParam {
	return append([]NamedParam{{"in_proj_weight", m.InProjWeight}, {"in_proj_bias", m.InProjBias}},
		prefixed("out_proj", m.OutProj.NamedParams())...)
}

func (m *MultiheadAttention) String() string {
	return fmt.Sprintf("MultiheadAttention(embed_dim=%d, num_heads=%d)", m.Embed, m.Heads)
}

// TransformerEncoderLayer is torch.nn.TransformerEncoderLayer(Embed,
// Heads, Hidden, dropout, activation="relu" or "gelu", batch_first=True,
// norm_first=False): on x [B, T, Embed],
//
//	h = LayerNorm₁(x + Dropout(SelfAttn(x, mask)))
//	y = LayerNorm₂(h + Dropout(Linear₂(Dropout(act(Linear₁ h)))))
//
// with torch's state_dict names (self_attn.*, linear1.*, linear2.*,
// norm1.*, norm2.*), so torch loads its checkpoint with strict=True. Its
// three Dropout layers are in training mode when made; SetTraining(layer,
// false) is torch's layer.eval().
type TransformerEncoderLayer struct {
	// Activation follows Linear₁: device.ReLU (torch's default, set by
	// NewTransformerEncoderLayer) or device.GELU (activation="gelu").
	Activation                  device.UnaryOp
	SelfAttn                    *MultiheadAttention
	Linear1, Linear2            *Linear
	Norm1, Norm2                *LayerNorm
	Dropout, Dropout1, Dropout2 *Dropout
}

// NewTransformerEncoderLayer builds the layer on dev with torch's
// initialisations (see NewMultiheadAttention, NewLinear; LayerNorm's
// γ = 1, β = 0, ϵ = 1e-5), its parameters drawn from rng and its three
// Dropout layers of probability dropout seeded with seed, seed+1, seed+2.
func NewTransformerEncoderLayer(dev device.Device, embed, heads, hidden int, dropout float64, rng *rand.Rand, seed uint64) (*TransformerEncoderLayer, error) {
	name := fmt.Sprintf("NewTransformerEncoderLayer(%d, %d, %d)", embed, heads, hidden)
	if !validP(dropout) {
		return nil, fmt.Errorf("nn: %s: dropout %v: want it in [0, 1]", name, dropout)
	}
	var made []Parameterized
	fail := func(err error) (*TransformerEncoderLayer, error) {
		for _, m := range made {
			Release(m)
		}
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	attn, err := NewMultiheadAttention(dev, embed, heads, rng)
	if err != nil {
		return fail(err)
	}
	made = append(made, attn)
	l1, err := NewLinear(dev, embed, hidden, rng)
	if err != nil {
		return fail(err)
	}
	made = append(made, l1)
	l2, err := NewLinear(dev, hidden, embed, rng)
	if err != nil {
		return fail(err)
	}
	made = append(made, l2)
	n1, err := NewLayerNorm(dev, embed, 1e-5, true)
	if err != nil {
		return fail(err)
	}
	made = append(made, n1)
	n2, err := NewLayerNorm(dev, embed, 1e-5, true)
	if err != nil {
		return fail(err)
	}
	return &TransformerEncoderLayer{Activation: device.ReLU, SelfAttn: attn, Linear1: l1, Linear2: l2, Norm1: n1, Norm2: n2,
		Dropout: &Dropout{P: dropout, seed: seed}, Dropout1: &Dropout{P: dropout, seed: seed + 1}, Dropout2: &Dropout{P: dropout, seed: seed + 2}}, nil
}

// Forward is Encode(tp, x, nil).
func (l *TransformerEncoderLayer) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return l.Encode(tp, x, nil)
}

// Encode runs the layer on x [B, T, Embed], mask (nil for none) added to
// the attention scores as in MultiheadAttention.Attend.
func (l *TransformerEncoderLayer) Encode(tp *autograd.Tape, x, mask *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return x
	}
	s := x.Shape()
	rows := func(v *autograd.Var) *autograd.Var { return tp.Reshape(v, s[0]*s[1], s[2]) }
	a := l.Dropout1.Forward(tp, l.SelfAttn.Attend(tp, x, x, x, mask))
	h := l.Norm1.Forward(tp, rows(tp.Add(x, a))) // [B·T, Embed]
	f := l.Dropout2.Forward(tp, feedForward(tp, l.Activation, l.Linear1, l.Linear2, l.Dropout, h))
	return tp.Reshape(l.Norm2.Forward(tp, tp.Add(h, f)), s...)
}

// feedForward is a transformer layer's position-wise block on rows h:
// Linear₂(Dropout(act(Linear₁ h))), Linear₁ and act one fused op where
// the activation allows.
func feedForward(tp *autograd.Tape, act device.UnaryOp, l1, l2 *Linear, drop *Dropout, h *autograd.Var) *autograd.Var {
	var f *autograd.Var
	if (&Activation{Fn: act}).fusable() {
		f = tp.Linear(h, l1.Weight, l1.Bias, act) // one op
	} else {
		f = tp.Apply(act, tp.Linear(h, l1.Weight, l1.Bias, device.Identity))
	}
	return l2.Forward(tp, drop.Forward(tp, f))
}

// Params lists the parameters in torch's state_dict order.
func (l *TransformerEncoderLayer) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, np := range l.NamedParams() {
		ps = append(ps, np.Var)
	}
	return ps
}

// NamedParams uses torch's names: self_attn.*, linear1.*, linear2.*,
// norm1.*, norm2.*.
func (l *TransformerEncoderLayer) NamedParams() []NamedParam {
	var ps []NamedParam
	for _, part := range []struct {
		name string
		m    Named
	}{{"self_attn", l.SelfAttn}, {"linear1", l.Linear1}, {"linear2", l.Linear2}, {"norm1", l.Norm1}, {"norm2", l.Norm2}} {
		ps = append(ps, prefixed(part.name, part.m.NamedParams())...)
	}
	return ps
}

// SetTraining switches the three Dropout layers.
func (l *TransformerEncoderLayer) SetTraining(on bool) {
	for _, d := range []*Dropout{l.Dropout, l.Dropout1, l.Dropout2} {
		d.SetTraining(on)
	}
}

func (l *TransformerEncoderLayer) String() string {
	return fmt.Sprintf("TransformerEncoderLayer(%v, %v, %v, %v)", l.SelfAttn, l.Linear1, l.Linear2, l.Dropout)
}

// TransformerDecoderLayer is torch.nn.TransformerDecoderLayer(Embed,
// Heads, Hidden, dropout, activation="relu" or "gelu", batch_first=True,
// norm_first=False): on a target x [B, T, Embed] and the encoder's memory
// m [B, S, Embed],
//
//	h₁ = LayerNorm₁(x + Dropout₁(SelfAttn(x, x, x, tgtMask)))
//	h₂ = LayerNorm₂(h₁ + Dropout₂(CrossAttn(h₁, m, m, memMask)))
//	y  = LayerNorm₃(h₂ + Dropout₃(Linear₂(Dropout(act(Linear₁ h₂)))))
//
// with torch's state_dict names (self_attn.*, multihead_attn.*,
// linear1.*, linear2.*, norm1.*, norm2.*, norm3.*). Its four Dropout
// layers are in training mode when made; SetTraining(layer, false) is
// torch's layer.eval().
type TransformerDecoderLayer struct {
	// Activation follows Linear₁: device.ReLU (torch's default) or
	// device.GELU.
	Activation                            device.UnaryOp
	SelfAttn, CrossAttn                   *MultiheadAttention
	Linear1, Linear2                      *Linear
	Norm1, Norm2, Norm3                   *LayerNorm
	Dropout, Dropout1, Dropout2, Dropout3 *Dropout
}

// NewTransformerDecoderLayer builds the layer on dev with torch's
// initialisations, its parameters drawn from rng in the order of Params
// and its four Dropout layers of probability dropout seeded with seed,
// seed+1, seed+2, seed+3.
func NewTransformerDecoderLayer(dev device.Device, embed, heads, hidden int, dropout float64, rng *rand.Rand, seed uint64) (*TransformerDecoderLayer, error) {
	name := fmt.Sprintf("NewTransformerDecoderLayer(%d, %d, %d)", embed, heads, hidden)
	if !validP(dropout) {
		return nil, fmt.Errorf("nn: %s: dropout %v: want it in [0, 1]", name, dropout)
	}
	l := &TransformerDecoderLayer{Activation: device.ReLU}
	var made []Parameterized
	err := func() (err error) {
		mha := func(dst **MultiheadAttention) {
			if err == nil {
				if *dst, err = NewMultiheadAttention(dev, embed, heads, rng); err == nil {
					made = append(made, *dst)
				}
			}
		}
		linear := func(dst **Linear, in, out int) {
			if err == nil {
				if *dst, err = NewLinear(dev, in, out, rng); err == nil {
					made = append(made, *dst)
				}
			}
		}
		norm := func(dst **LayerNorm) {
			if err == nil {
				if *dst, err = NewLayerNorm(dev, embed, 1e-5, true); err == nil {
					made = append(made, *dst)
				}
			}
		}
		mha(&l.SelfAttn)
		mha(&l.CrossAttn)
		linear(&l.Linear1, embed, hidden)
		linear(&l.Linear2, hidden, embed)
		norm(&l.Norm1)
		norm(&l.Norm2)
		norm(&l.Norm3)
		return err
	}()
	if err != nil {
		for _, m := range made {
			Release(m)
		}
		return nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	l.Dropout, l.Dropout1 = &Dropout{P: dropout, seed: seed}, &Dropout{P: dropout, seed: seed + 1}
	l.Dropout2, l.Dropout3 = &Dropout{P: dropout, seed: seed + 2}, &Dropout{P: dropout, seed: seed + 3}
	return l, nil
}

// Forward is Decode with x as its own memory and no masks; a decoder is
// normally run with Decode.
func (l *TransformerDecoderLayer) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return l.Decode(tp, x, x, nil, nil)
}

// Decode runs the layer on the target x [B, T, Embed] and the memory m
// [B, S, Embed]: tgtMask [T, T] (a CausalMask, typically) is added to the
// self-attention's scores and memMask [T, S] to the cross-attention's (nil
// for none), as in MultiheadAttention.Attend.
func (l *TransformerDecoderLayer) Decode(tp *autograd.Tape, x, m, tgtMask, memMask *autograd.Var) *autograd.Var {
	if tp.Failed() {
		return x
	}
	s := x.Shape()
	rows := func(v *autograd.Var) *autograd.Var { return tp.Reshape(v, s[0]*s[1], s[2]) }
	h1 := l.Norm1.Forward(tp, rows(tp.Add(x, l.Dropout1.Forward(tp, l.SelfAttn.Attend(tp, x, x, x, tgtMask)))))
	q := tp.Reshape(h1, s...)
	h2 := l.Norm2.Forward(tp, tp.Add(h1, rows(l.Dropout2.Forward(tp, l.CrossAttn.Attend(tp, q, m, m, memMask)))))
	f := l.Dropout3.Forward(tp, feedForward(tp, l.Activation, l.Linear1, l.Linear2, l.Dropout, h2))
	return tp.Reshape(l.Norm3.Forward(tp, tp.Add(h2, f)), s...)
}

// Params lists the parameters in torch's state_dict order.
func (l *TransformerDecoderLayer) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, np := range l.NamedParams() {
		ps = append(ps, np.Var)
	}
	return ps
}

// NamedParams uses torch's names: self_attn.*, multihead_attn.*,
// linear1.*, linear2.*, norm1.*, norm2.*, norm3.*.
func (l *TransformerDecoderLayer) NamedParams() []NamedParam {
	var ps []NamedParam
	for _, part := range []struct {
		name string
		m    Named
	}{{"self_attn", l.SelfAttn}, {"multihead_attn", l.CrossAttn}, {"linear1", l.Linear1}, {"linear2", l.Linear2},
		{"norm1", l.Norm1}, {"norm2", l.Norm2}, {"norm3", l.Norm3}} {
		ps = append(ps, prefixed(part.name, part.m.NamedParams())...)
	}
	return ps
}

// SetTraining switches the four Dropout layers.
func (l *TransformerDecoderLayer) SetTraining(on bool) {
	for _, d := range []*Dropout{l.Dropout, l.Dropout1, l.Dropout2, l.Dropout3} {
		d.SetTraining(on)
	}
}

func (l *TransformerDecoderLayer) String() string {
	return fmt.Sprintf("TransformerDecoderLayer(%v, %v, %v, %v, %v)", l.SelfAttn, l.CrossAttn, l.Linear1, l.Linear2, l.Dropout)
}

// CausalMask returns the [n × n] attention mask of a causal (decoder)
// model, 0 on and below the diagonal and −∞ above it, so that position i
// attends to positions 0…i only: torch's
// nn.Transformer.generate_square_subsequent_mask(n). It is a tensor on dev,
// made once and handed to each step's tape with tp.Constant (a training
// step then uploads nothing for it); the caller releases it.
func CausalMask(dev device.Device, n int) (*tensor.Tensor, error) {
	mask := make([]float32, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			mask[i*n+j] = float32(math.Inf(-1))
		}
	}
	t, err := tensor.FromFloat32(dev, mask, n, n)
	if err != nil {
		return nil, fmt.Errorf("nn: CausalMask(%d): %w", n, err)
	}
	return t, nil
}
