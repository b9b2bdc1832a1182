package autograd

import (
	"fmt"

	"github.com/adjoint-go/adjoint/tensor"
)

// Embedding returns the rows of weight [V × D] that index names: for
// index of any shape S holding row numbers (integers in [0, V), stored as
// floats like class indices), the output has shape S + [D], torch's
// F.embedding(index, weight). The index has no gradient; the weight's is
// the rows of ε added to the rows they came from:
//
//	forward:  y_i = W[index_i, :]
//	adjoint:  g_W[r, :] = Σ_{i : index_i = r} ε_i     (in increasing i, no atomics)
//	tangent:  ẏ_i = Ẇ[index_i, :]
//
// An index that is not a row gives zeros and fails the tape with an
// error wrapping device.ErrInvalidInput (on a GPU, from the next
// synchronising call), as a bad class index does in a loss.
func (tp *Tape) Embedding(weight, index *Var) *Var {
	if tp.skip(&embeddingOp, weight, index) {
		return tp.failedVar()
	}
	if weight.value.Dims() != 2 {
		panic(fmt.Sprintf("autograd: Embedding: weight %v: want [V × D]", weight.Shape()))
	}
	if index.value.Dims()+1 > tensor.MaxDims {
		panic(fmt.Sprintf("autograd: Embedding: index %v has too many dimensions", index.Shape()))
	}
	v, d := weight.value.Dim(0), weight.value.Dim(1)
	var buf [tensor.MaxDims]int
	shape := append(append(buf[:0], index.Shape()...), d)
	node, out := tp.Record(&embeddingOp, shape, weight, index)
	if tp.Failed() {
		return out
	}
	out.needsGrad = weight.needsGrad && tp.noGrad == 0 // the index is data
	tp.dev.Gather(weight.value.Buffer(), v, d, index.value.Buffer(), index.value.Len(), out.value.Buffer())
	return tp.Done(node)
}

var embeddingOp = Op{
	Name: "Embedding",
	Adjoint: func(tp *Tape, n *Node, eps *tensor.Tensor) {
		w, index := n.In[0], n.In[1]
		if gw, beta := tp.GradDest(w); gw != nil {
			tp.dev.ScatterAdd(eps.Buffer(), index.value.Len(), w.value.Dim(1), index.value.Buffer(), beta, gw.Buffer(), w.value.Dim(0))
		}
	},
	Tangent: func(tp *Tape, n *Node) *tensor.Tensor {
		w, index := n.In[0], n.In[1]
		t := tp.Temp(n.Out.Shape()...)
		switch {
		case !t.Valid():
		case w.hasTangent:
			tp.dev.Gather(w.tangent.Buffer(), w.value.Dim(0), w.value.Dim(1), index.value.Buffer(), index.value.Len(), t.Buffer())
		default: // only the index carries a tangent: the rows do not move
			tp.dev.Fill(t.Buffer(), 0)
		}
		return t
	},
}
