package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
	"github.com/adjoint-go/adjoint/safetensors"
)

// Names of the extra (non-parameter) tensors of a checkpoint. They contain
// '/', so nn.Load and PyTorch's strict load_state_dict can tell them from
// parameters.
const (
	tensorXMean = "data/mean"
	tensorXStd  = "data/std"
	tensorYMean = "data/y_mean"
	tensorYStd  = "data/y_std"
)

func optimTensorName(i int, buf string) string { return fmt.Sprintf("optim/%d/%s", i, buf) }

// checkpoint is a parsed checkpoint file.
type checkpoint struct {
	path       string
	sizes      []int
	act        string
	norm       string  // none, layer or batch
	dropout    float64 // Dropout probability after each hidden activation; 0: none
	task       string
	loss       string
	cfg        *config // nil for checkpoints written by other tools
	epoch      int
	steps      []int
	history    []epochStats
	xstd, ystd *data.Standardizer // nil when absent
	file       *safetensors.File
}

// readCheckpoint loads and checks a checkpoint's metadata; the weights are
// checked by model.
func readCheckpoint(path string) (*checkpoint, error) {
	f, err := safetensors.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint %s: %s", path, fmt.Sprintf(format, args...))
	}
	m := f.Metadata
	if m[metaFormat] != formatValue {
		if m[metaFormat] == "" {
			return nil, bad("not an adjoint model (metadata %q is missing)", metaFormat)
		}
		return nil, bad("format %q, want %q", m[metaFormat], formatValue)
	}
	ck := &checkpoint{path: path, file: f, act: m[metaAct], norm: m[metaNorm], task: m[metaTask], loss: m[metaLoss]}
	switch ck.norm {
	case "":
		ck.norm = "none" // written before --norm existed
	case "none", "layer", "batch":
	default:
		return nil, bad("metadata norm %q: want none, layer or batch", ck.norm)
	}
	if s, ok := m[metaDropout]; ok {
		// A torch model's p is a float in [0, 1]; adjoint train writes
		// [0, 1), and p = 1 would be a model that drops everything.
		if ck.dropout, err = strconv.ParseFloat(s, 64); err != nil || !(ck.dropout >= 0 && ck.dropout < 1) {
			return nil, bad("metadata dropout %q: want a number in [0, 1)", s)
		}
	}
	if ck.sizes, err = parseSizes(m[metaSizes]); err != nil || len(ck.sizes) < 2 {
		return nil, bad("metadata sizes %q: want at least two comma-separated widths", m[metaSizes])
	}
	// Sizes that do not fit the weights would fail nn.LoadStateDict after
	// the model is built; sizes far larger than the file would not even be
	// built (Go ends a process that runs out of memory).
	if want, have := mlpParams(ck.sizes, ck.norm), fileParams(f); want != float64(have) {
		return nil, bad("metadata sizes %s (norm %s) make %.0f parameters, the file's weights hold %d", m[metaSizes], ck.norm, want, have)
	}
	if _, err := nn.ParseActivation(ck.act); err != nil {
		return nil, bad("metadata act %q: want relu, tanh, sigmoid, gelu, silu, leaky_relu, elu, relu6, hardsigmoid or hardswish", ck.act)
	}
	switch ck.task {
	case "classification", "regression":
	default:
		return nil, bad("metadata task %q: want classification or regression", ck.task)
	}
	if s := m[metaConfig]; s != "" {
		ck.cfg = &config{}
		if err := json.Unmarshal([]byte(s), ck.cfg); err != nil {
			return nil, bad("metadata config: %v", err)
		}
		if err := ck.checkConfig(); err != nil {
			return nil, bad("metadata config: %v", err)
		}
	}
	if s := m[metaEpoch]; s != "" {
		if ck.epoch, err = strconv.Atoi(s); err != nil || ck.epoch < 0 {
			return nil, bad("metadata epoch %q", s)
		}
	}
	if s := m[metaOptSteps]; s != "" {
		if err := json.Unmarshal([]byte(s), &ck.steps); err != nil {
			return nil, bad("metadata %s: %v", metaOptSteps, err)
		}
	}
	if s := m[metaHistory]; s != "" {
		if err := json.Unmarshal([]byte(s), &ck.history); err != nil {
			return nil, bad("metadata history: %v", err)
		}
	}
	if ck.xstd, err = readStandardizer(f, tensorXMean, tensorXStd, ck.sizes[0]); err != nil {
		return nil, bad("%v", err)
	}
	if ck.task == "regression" {
		if ck.ystd, err = readStandardizer(f, tensorYMean, tensorYStd, ck.sizes[len(ck.sizes)-1]); err != nil {
			return nil, bad("%v", err)
		}
	}
	return ck, nil
}

// checkConfig checks the stored training configuration against the
// metadata that describes the model (eval, predict and --resume trust
// both), filling what it leaves out from the metadata. Its other values
// are checked when a run resumes from it (train's resumedConfig).
func (ck *checkpoint) checkConfig() error {
	c := ck.cfg
	for _, f := range []struct {
		name     string
		cfg      *string
		metadata string
	}{{"task", &c.Task, ck.task}, {"loss", &c.Loss, ck.loss}, {"act", &c.Act, ck.act}, {"norm", &c.Norm, ck.norm}} {
		switch {
		case *f.cfg == "":
			*f.cfg = f.metadata
		case f.metadata != "" && *f.cfg != f.metadata:
			return fmt.Errorf("%s %q, but the metadata says %q", f.name, *f.cfg, f.metadata)
		}
	}
	switch {
	case c.Dropout == 0:
		c.Dropout = ck.dropout // also a configuration without the field
	case c.Dropout != ck.dropout:
		return fmt.Errorf("dropout %v, but the metadata says %v", c.Dropout, ck.dropout)
	}
	if hidden := ck.sizes[1 : len(ck.sizes)-1]; c.Hidden != nil && !equalInts(c.Hidden, hidden) {
		return fmt.Errorf("hidden %s, but the metadata sizes are %s", showValue(c.Hidden), joinInts(ck.sizes))
	}
	return nil
}

// mlpParams is the element count of buildMLP(sizes, norm, …)'s state_dict
// (parameters and BatchNorm's buffers), in float64 so that absurd sizes
// cannot overflow (Dropout layers have none).
func mlpParams(sizes []int, norm string) float64 {
	n := 0.0
	for i := 0; i+1 < len(sizes); i++ {
		in, out := float64(sizes[i]), float64(sizes[i+1])
		n += (in + 1) * out // weight and bias
		switch {
		case i+2 >= len(sizes):
		case norm == "layer":
			n += 2 * out // γ and β of the LayerNorm after a hidden layer
		case norm == "batch":
			n += 4*out + 1 // γ, β, running mean and variance, and the count
		}
	}
	return n
}

// fileParams counts the elements of a checkpoint's parameters and buffers:
// its tensors other than the data/ and optim/ extras.
func fileParams(f *safetensors.File) int {
	n := 0
	for name, t := range f.Tensors {
		if !strings.Contains(name, "/") {
			n += t.NumElements()
		}
	}
	return n
}

func readStandardizer(f *safetensors.File, meanName, stdName string, n int) (*data.Standardizer, error) {
	mt, okm := f.Tensors[meanName]
	st, oks := f.Tensors[stdName]
	if !okm && !oks {
		return nil, nil
	}
	if okm != oks {
		return nil, fmt.Errorf("has only one of %s and %s", meanName, stdName)
	}
	mean, err := mt.Float32()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", meanName, err)
	}
	std, err := st.Float32()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", stdName, err)
	}
	if len(mean) != n || len(std) != n {
		return nil, fmt.Errorf("%s and %s have %d and %d values, want %d", meanName, stdName, len(mean), len(std), n)
	}
	return &data.Standardizer{Mean: mean, Std: std}, nil
}

// buildMLP is nn.MLP, or with norm "layer" nn.MLPLayerNorm and with
// "batch" nn.MLPBatchNorm, with an
// nn.Dropout of probability dropout after each hidden block when dropout > 0
// (before every Linear but the first), as torch's
// Sequential(Linear, [LayerNorm or BatchNorm1d,] act, Dropout, …, Linear) has it: the
// parameters keep torch's names (0.weight, 0.bias, 3.weight, …). The
// Dropout layers are in training mode; train reseeds them every epoch
// (reseedDropout), and a model for evaluation is switched off with
// nn.SetTraining(m, false).
func buildMLP(dev device.Device, sizes []int, act device.UnaryOp, norm string, dropout float64, seed uint64) (*nn.Sequential, error) {
	var m *nn.Sequential
	var err error
	switch norm {
	case "layer":
		m, err = nn.MLPLayerNorm(dev, sizes, act, seed)
	case "batch":
		m, err = nn.MLPBatchNorm(dev, sizes, act, seed)
	default:
		m, err = nn.MLP(dev, sizes, act, seed)
	}
	if err != nil || dropout == 0 {
		return m, err
	}
	layers := make([]nn.Module, 0, len(m.Layers)+len(sizes)-2)
	for i, l := range m.Layers {
		if _, ok := l.(*nn.Linear); ok && i > 0 {
			d, err := nn.NewDropout(dropout, 0)
			if err != nil {
				nn.Release(m)
				return nil, err
			}
			layers = append(layers, d)
		}
		layers = append(layers, l)
	}
	m.Layers = layers
	return m, nil
}

// dropouts returns the Dropout layers of m, in order.
func dropouts(m *nn.Sequential) []*nn.Dropout {
	var ds []*nn.Dropout
	for _, l := range m.Layers {
		if d, ok := l.(*nn.Dropout); ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// reseedDropout restarts the mask generator of every Dropout of m for
// epoch (0-based) of a run seeded with seed, so that an epoch's masks
// depend on (seed, epoch, layer) only: a resumed run draws those an
// uninterrupted one would have.
func reseedDropout(m *nn.Sequential, seed uint64, epoch int) {
	for j, d := range dropouts(m) {
		d.Reseed(dropoutSeed(seed, epoch, j))
	}
}

// dropoutSeed is the seed of the masks of Dropout layer j in an epoch:
// seed·φ + epoch + 1 with the layer in the high bits, through splitmix64's
// finaliser (a bijection), so that the epochs and layers of a run get
// distinct streams. The generator it seeds, PCG(s, 0x9e3779b97f4a7c15),
// is apart from the batcher's PCG(seed, epoch) and the initialisation's.
func dropoutSeed(seed uint64, epoch, layer int) uint64 {
	z := seed*0x9E3779B97F4A7C15 + uint64(epoch) + 1 + uint64(layer)<<40
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// model builds the checkpoint's MLP on dev and loads its weights; it is
// in evaluation mode (its Dropout layers, if any, are the identity), as
// eval and predict want it.
func (ck *checkpoint) model(dev device.Device) (*nn.Sequential, error) {
	act, _ := nn.ParseActivation(ck.act)
	m, err := buildMLP(dev, ck.sizes, act, ck.norm, ck.dropout, 0)
	if err != nil {
		return nil, err
	}
	if err := nn.LoadStateDict(ck.file.Tensors, m); err != nil {
		nn.Release(m)
		return nil, fmt.Errorf("checkpoint %s: %w", ck.path, err)
	}
	nn.SetTraining(m, false)
	return m, nil
}

// optimState extracts the optimizer state for n parameters. Each buffer
// must be stored in its parameter's dtype (optimDType), as saveCheckpoint
// writes it: another would be rounded, or would not resume exactly.
func (ck *checkpoint) optimState(kind string, params []nn.NamedParam) (*optim.State, error) {
	if len(ck.steps) != len(params) {
		return nil, fmt.Errorf("checkpoint %s: no optimizer state to resume from (%d step counts for %d parameters); it was not written by adjoint train", ck.path, len(ck.steps), len(params))
	}
	s := &optim.State{Kind: kind, Steps: ck.steps, Buffers: make([]map[string][]float64, len(params))}
	prefix := "optim/"
	for i, param := range params {
		s.Buffers[i] = map[string][]float64{}
		p := fmt.Sprintf("%s%d/", prefix, i)
		want := optimDType(param.Var.Value().DType())
		for name, t := range ck.file.Tensors {
			if buf, ok := strings.CutPrefix(name, p); ok {
				if t.DType != want {
					return nil, fmt.Errorf("checkpoint %s: %s: dtype %s, want %s for the %v parameter %s", ck.path, name, t.DType, want, param.Var.Value().DType(), param.Name)
				}
				v, err := t.Float64()
				if err != nil {
					return nil, fmt.Errorf("checkpoint %s: %s: %w", ck.path, name, err)
				}
				s.Buffers[i][buf] = v
			}
		}
	}
	return s, nil
}

// saveCheckpoint writes the model, preprocessing, optimizer state and
// configuration atomically: a failure leaves an existing file untouched.
// Each optimizer buffer is stored in its parameter's dtype (optimTensor),
// so that a resumed run continues exactly.
func saveCheckpoint(path string, m nn.Module, c *config, sizes []int, epoch int, opt optim.Optimizer, xstd, ystd *data.Standardizer, hist []epochStats) error {
	extra := map[string]safetensors.Tensor{}
	if xstd != nil {
		extra[tensorXMean] = safetensors.FromFloat32([]int{len(xstd.Mean)}, xstd.Mean)
		extra[tensorXStd] = safetensors.FromFloat32([]int{len(xstd.Std)}, xstd.Std)
	}
	if ystd != nil {
		extra[tensorYMean] = safetensors.FromFloat32([]int{len(ystd.Mean)}, ystd.Mean)
		extra[tensorYStd] = safetensors.FromFloat32([]int{len(ystd.Std)}, ystd.Std)
	}
	var steps []int
	if opt != nil {
		st, err := opt.State()
		if err != nil {
			return err
		}
		steps = st.Steps
		for i, bufs := range st.Buffers {
			for name, v := range bufs {
				extra[optimTensorName(i, name)] = optimTensor(opt.Params()[i], v)
			}
		}
	}
	if err := nn.SaveWith(path, m, c.metadata(sizes, epoch, steps, hist), extra); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	return nil
}

// optimDType is the safetensors dtype of the optimizer state of a
// parameter of dtype dt: its own, which holds it without loss.
func optimDType(dt device.DType) string {
	if dt == device.Float64 {
		return "F64"
	}
	return "F32"
}

// optimTensor stores v, a buffer of optimizer state for p, in p's dtype
// (optimDType): F32 for a float32 parameter (exactly, as optim.State
// widened it from float32; and as checkpoints always stored it), F64 for a
// float64 one.
func optimTensor(p *autograd.Var, v []float64) safetensors.Tensor {
	if optimDType(p.Value().DType()) == "F64" {
		return safetensors.FromFloat64(p.Shape(), v)
	}
	v32 := make([]float32, len(v))
	for i, x := range v {
		v32[i] = float32(x)
	}
	return safetensors.FromFloat32(p.Shape(), v32)
}
