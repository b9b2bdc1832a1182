package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/tensor"
)

// layer is f_m(z) = tanh(W z + b), with θ_m = [vec(W) row by row, b].
type layer struct {
	W *mat.Dense
	b []float64
}

func (l layer) forward(z []float64) []float64 {
	out := make([]float64, len(l.b))
	for i := range out {
		s := l.b[i]
		for j, zj := range z {
			s += l.W.At(i, j) * zj
		}
		out[i] = math.Tanh(s)
	}
	return out
}

// jacobians returns A = ∇_z f (N_out × N_in) and B = ∇_θ f (N_out × P)
// densely, as the lecture's per-node input and parameter gradients:
// with y = f(z), ∂yᵢ/∂zⱼ = (1−yᵢ²)Wᵢⱼ, ∂yᵢ/∂Wᵢⱼ = (1−yᵢ²)zⱼ, ∂yᵢ/∂bᵢ = 1−yᵢ².
func (l layer) jacobians(z []float64) (A, B *mat.Dense) {
	y := l.forward(z)
	no, ni := l.W.Dims()
	A = mat.NewDense(no, ni, nil)
	B = mat.NewDense(no, no*ni+no, nil)
	for i := 0; i < no; i++ {
		d := 1 - y[i]*y[i]
		for j := 0; j < ni; j++ {
			A.Set(i, j, d*l.W.At(i, j))
			B.Set(i, i*ni+j, d*z[j])
		}
		B.Set(i, no*ni+i, d)
	}
	return A, B
}

func randomChain(rng *rand.Rand, sizes []int) []layer {
	ls := make([]layer, len(sizes)-1)
	for m := range ls {
		w := make([]float64, sizes[m+1]*sizes[m])
		for i := range w {
			w[i] = rng.NormFloat64() / math.Sqrt(float64(sizes[m]))
		}
		b := make([]float64, sizes[m+1])
		for i := range b {
			b[i] = 0.1 * rng.NormFloat64()
		}
		ls[m] = layer{mat.NewDense(sizes[m+1], sizes[m], w), b}
	}
	return ls
}

func randMatrix(rng *rand.Rand, rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = rng.NormFloat64()
		}
	}
	return m
}

// forwardStates is the lecture's forward propagation z₀ ← y, z_{m+1} ← f_m(z_m),
// with the MSE error vector ε_M = −2(x − z_M).
func forwardStates(ls []layer, y, x []float64) ([][]float64, *mat.VecDense) {
	z := [][]float64{y}
	for _, l := range ls {
		z = append(z, l.forward(z[len(z)-1]))
	}
	f := z[len(ls)]
	eps := mat.NewVecDense(len(f), nil)
	for i := range f {
		eps.SetVec(i, -2*(x[i]-f[i]))
	}
	return z, eps
}

// backpropLoop is the lecture's algorithm, verbatim: for each sample k,
// ε_M ← −2(x_k − f(y_k)); for m = M−1 … 0: ε_m ← Aᵀε_{m+1}, g_m += Bᵀε_{m+1};
// then g_m /= K. It gives ∇_θ L for L = (1/K) Σ_k ‖x_k − f(y_k)‖².
func backpropLoop(ls []layer, ys, xs [][]float64) [][]float64 {
	g := make([][]float64, len(ls))
	for m, l := range ls {
		r, c := l.W.Dims()
		g[m] = make([]float64, r*c+r)
	}
	for k := range ys {
		z, eps := forwardStates(ls, ys[k], xs[k])
		for m := len(ls) - 1; m >= 0; m-- {
			A, B := ls[m].jacobians(z[m])
			var gm, em mat.VecDense
			gm.MulVec(B.T(), eps)
			for i := range g[m] {
				g[m][i] += gm.AtVec(i)
			}
			em.MulVec(A.T(), eps)
			eps = &em
		}
	}
	for m := range g {
		for i := range g[m] {
			g[m][i] /= float64(len(ys))
		}
	}
	return g
}

// jacobianProducts forms ∇_{θ_m} f = A_{M−1} ⋯ A_{m+1} B_m densely, left to
// right (the lecture's "forward propagation of gradient", O(N³) per sample),
// then g_m = (1/K) Σ_k (∇_{θ_m} f)ᵀ ε_k.
func jacobianProducts(ls []layer, ys, xs [][]float64) [][]float64 {
	g := make([][]float64, len(ls))
	for k := range ys {
		z, eps := forwardStates(ls, ys[k], xs[k])
		for m := range ls {
			_, J := ls[m].jacobians(z[m])
			for q := m + 1; q < len(ls); q++ {
				A, _ := ls[q].jacobians(z[q])
				var p mat.Dense
				p.Mul(A, J)
				J = &p
			}
			var gm mat.VecDense
			gm.MulVec(J.T(), eps)
			if g[m] == nil {
				g[m] = make([]float64, gm.Len())
			}
			for i := range g[m] {
				g[m][i] += gm.AtVec(i) / float64(len(ys))
			}
		}
	}
	return g
}

// tapeGradients computes the same gradient with the batched tape: all K
// samples in one [K × N] tensor per layer, one GEMM per product.
func tapeGradients(t *testing.T, ls []layer, ys, xs [][]float64) [][]float64 {
	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	flat := func(rows [][]float64) []float64 {
		var out []float64
		for _, r := range rows {
			out = append(out, r...)
		}
		return out
	}
	K := len(ys)
	z := tp.Constant(must(tensor.FromFloat64(dev, flat(ys), K, len(ys[0]))))
	var params [][2]*autograd.Var
	for _, l := range ls {
		r, c := l.W.Dims()
		w := autograd.NewParam("W", must(tensor.FromFloat64(dev, l.W.RawMatrix().Data, r, c)))
		b := autograd.NewParam("b", must(tensor.FromFloat64(dev, l.b, r)))
		params = append(params, [2]*autograd.Var{w, b})
		z = tp.Linear(z, w, b, device.Tanh)
	}
	x := tp.Constant(must(tensor.FromFloat64(dev, flat(xs), K, len(xs[0]))))
	require.NoError(t, tp.Backward(loss.MSE(tp, z, x, loss.SampleMean)))
	g := make([][]float64, len(ls))
	for m, p := range params {
		gw, err := p[0].Grad().Float64s()
		require.NoError(t, err)
		gb, err := p[1].Grad().Float64s()
		require.NoError(t, err)
		g[m] = append(gw, gb...)
	}
	return g
}

func TestLectureAlgorithmsAgreeWithTape(t *testing.T) {
	for _, sizes := range [][]int{{3, 4, 2}, {5, 7, 6, 3}, {2, 8, 8, 8, 4}} {
		rng := rand.New(rand.NewPCG(uint64(len(sizes)), 7))
		ls := randomChain(rng, sizes)
		const K = 6
		ys := randMatrix(rng, K, sizes[0])
		xs := randMatrix(rng, K, sizes[len(sizes)-1])
		loop := backpropLoop(ls, ys, xs)
		products := jacobianProducts(ls, ys, xs)
		batched := tapeGradients(t, ls, ys, xs)
		for m := range ls {
			require.InDeltaSlice(t, loop[m], batched[m], 1e-12, "layer %d of %v: per-sample loop vs tape", m, sizes)
			require.InDeltaSlice(t, products[m], batched[m], 1e-12, "layer %d of %v: Jacobian products vs tape", m, sizes)
		}
	}
}

// TestLectureDAG checks the lecture's fan-in-2 node and two-output DAG: for
// inputs y₁, y₂ the node u = W₁y₁ + W₂y₂ + b has A_{s,1} = W₁, A_{s,2} = W₂;
// v = tanh(u) fans out to x̂₁ = Pv and x̂₂ = Qv; the loss adds both outputs'
// distortions, ρ = ‖x₁ − x̂₁‖² + ‖x₂ − x̂₂‖₁. The per-sample reference
// back-propagates each output's error vector and adds at the fan-out.
func TestLectureDAG(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const K, n1, n2, nu, o1, o2 = 5, 3, 2, 4, 2, 3
	W1, W2 := randMatrix(rng, nu, n1), randMatrix(rng, nu, n2)
	b := randMatrix(rng, 1, nu)[0]
	P, Q := randMatrix(rng, o1, nu), randMatrix(rng, o2, nu)
	Y1, Y2 := randMatrix(rng, K, n1), randMatrix(rng, K, n2)
	X1, X2 := randMatrix(rng, K, o1), randMatrix(rng, K, o2)

	dense := func(m [][]float64) *mat.Dense {
		d := mat.NewDense(len(m), len(m[0]), nil)
		for i := range m {
			d.SetRow(i, m[i])
		}
		return d
	}
	gW1, gW2, gP, gQ := mat.NewDense(nu, n1, nil), mat.NewDense(nu, n2, nil), mat.NewDense(o1, nu, nil), mat.NewDense(o2, nu, nil)
	gb := mat.NewVecDense(nu, nil)
	for k := 0; k < K; k++ {
		y1, y2 := mat.NewVecDense(n1, Y1[k]), mat.NewVecDense(n2, Y2[k])
		var u, v, x1, x2 mat.VecDense
		u.MulVec(dense(W1), y1)
		var t2 mat.VecDense
		t2.MulVec(dense(W2), y2)
		u.AddVec(&u, &t2)
		u.AddVec(&u, mat.NewVecDense(nu, b))
		v.CloneFromVec(&u)
		for i := 0; i < nu; i++ {
			v.SetVec(i, math.Tanh(u.AtVec(i)))
		}
		x1.MulVec(dense(P), &v)
		x2.MulVec(dense(Q), &v)
		e1, e2 := mat.NewVecDense(o1, nil), mat.NewVecDense(o2, nil)
		for i := 0; i < o1; i++ {
			e1.SetVec(i, -2*(X1[k][i]-x1.AtVec(i))) // MSE error vector
		}
		for i := 0; i < o2; i++ {
			e2.SetVec(i, -math.Copysign(1, X2[k][i]-x2.AtVec(i))) // MAE error vector
		}
		// Output nodes: g_P += ε₁vᵀ, g_Q += ε₂vᵀ; δ_v = Pᵀε₁ + Qᵀε₂ (fan-out adds).
		var gp, gq mat.Dense
		gp.Outer(1, e1, &v)
		gq.Outer(1, e2, &v)
		gP.Add(gP, &gp)
		gQ.Add(gQ, &gq)
		var dv, dq mat.VecDense
		dv.MulVec(dense(P).T(), e1)
		dq.MulVec(dense(Q).T(), e2)
		dv.AddVec(&dv, &dq)
		// tanh node, then the fan-in node: δ₁ = W₁ᵀε_u, δ₂ = W₂ᵀε_u, g_W = ε_u yᵀ.
		for i := 0; i < nu; i++ {
			dv.SetVec(i, dv.AtVec(i)*(1-v.AtVec(i)*v.AtVec(i)))
		}
		var g1, g2 mat.Dense
		g1.Outer(1, &dv, y1)
		g2.Outer(1, &dv, y2)
		gW1.Add(gW1, &g1)
		gW2.Add(gW2, &g2)
		gb.AddVec(gb, &dv)
	}

	dev := newCPU(t)
	tp := autograd.NewTape(dev, device.Float64)
	defer tp.Release()
	param := func(m [][]float64) *autograd.Var {
		d := dense(m)
		r, c := d.Dims()
		return autograd.NewParam("p", must(tensor.FromFloat64(dev, d.RawMatrix().Data, r, c)))
	}
	constant := func(m [][]float64) *autograd.Var {
		d := dense(m)
		r, c := d.Dims()
		return tp.Constant(must(tensor.FromFloat64(dev, d.RawMatrix().Data, r, c)))
	}
	w1, w2, p, q := param(W1), param(W2), param(P), param(Q)
	bb := autograd.NewParam("b", must(tensor.FromFloat64(dev, b, nu)))
	u := tp.Add(tp.Linear(constant(Y1), w1, bb, device.Identity), tp.Linear(constant(Y2), w2, nil, device.Identity))
	v := tp.Tanh(u)
	l := tp.Add(
		loss.MSE(tp, tp.Linear(v, p, nil, device.Identity), constant(X1), loss.Sum),
		loss.MAE(tp, tp.Linear(v, q, nil, device.Identity), constant(X2), loss.Sum))
	require.NoError(t, tp.Backward(l))
	for _, c := range []struct {
		name string
		v    *autograd.Var
		want []float64
	}{
		{"W1", w1, gW1.RawMatrix().Data}, {"W2", w2, gW2.RawMatrix().Data}, {"b", bb, gb.RawVector().Data},
		{"P", p, gP.RawMatrix().Data}, {"Q", q, gQ.RawMatrix().Data},
	} {
		got, err := c.v.Grad().Float64s()
		require.NoError(t, err)
		require.InDeltaSlice(t, c.want, got, 1e-12, c.name)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
