package nn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/safetensors"
	"github.com/adjoint-go/adjoint/tensor"
)

// ErrStateDict is wrapped by the errors of LoadStateDict and Load that
// describe a checkpoint that does not fit the model.
var ErrStateDict = errors.New("checkpoint does not match the model")

// IsExtraName reports whether name is reserved for state other than module
// parameters: it contains '/', which PyTorch state_dict names never do.
func IsExtraName(name string) bool { return strings.Contains(name, "/") }

// StateDict downloads m's parameters and buffers (NamedBuffers: running
// statistics) as safetensors tensors keyed by their state_dict names, each
// float tensor in its own dtype: F32 for float32, F64 for float64, so a
// float64 model's checkpoint holds its values exactly; a Count buffer is an
// I64 scalar, as torch stores num_batches_tracked. Like torch's state_dict
// it holds every name (AllNamedParams): a parameter shared by two layers
// is stored under both, so that torch's strict load_state_dict accepts the
// checkpoint.
func StateDict(m Parameterized) (map[string]safetensors.Tensor, error) {
	out := map[string]safetensors.Tensor{}
	add := func(name string, t safetensors.Tensor, err error) error {
		if err != nil {
			return fmt.Errorf("nn: StateDict: %s: %w", name, err)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("nn: StateDict: two entries named %q", name)
		}
		out[name] = t
		return nil
	}
	for _, p := range AllNamedParams(m) {
		t, err := download(p.Var.Value(), p.Var.Shape())
		if err := add(p.Name, t, err); err != nil {
			return nil, err
		}
	}
	for _, b := range NamedBuffers(m) {
		var t safetensors.Tensor
		var err error
		if b.Count != nil {
			t = safetensors.FromInt64(nil, []int64{*b.Count})
		} else {
			t, err = download(b.Value, b.Value.Shape())
		}
		if err := add(b.Name, t, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// download copies v to the host as a safetensors tensor of v's dtype and
// the given shape.
func download(v *tensor.Tensor, shape []int) (safetensors.Tensor, error) {
	switch v.DType() {
	case device.Float32:
		d, err := v.Float32s()
		if err != nil {
			return safetensors.Tensor{}, err
		}
		return safetensors.FromFloat32(shape, d), nil
	case device.Float64:
		d, err := v.Float64s()
		if err != nil {
			return safetensors.Tensor{}, err
		}
		return safetensors.FromFloat64(shape, d), nil
	}
	return safetensors.Tensor{}, fmt.Errorf("dtype %v has no safetensors dtype", v.DType())
}

// fileDType is the safetensors name of dt ("F32", "F64"), or "" for a
// dtype without one.
func fileDType(dt device.DType) string {
	switch dt {
	case device.Float32:
		return "F32"
	case device.Float64:
		return "F64"
	}
	return ""
}

// LoadStateDict copies the tensors of sd into m's parameters and buffers
// (NamedBuffers). Every state_dict name of m (AllNamedParams: a shared
// parameter under each of its names, as torch's strict load_state_dict
// wants; then the buffers) must be present as a tensor of the entry's
// shape and dtype (I64 for a count such as num_batches_tracked, F32 for a float32
// parameter, F64 for a float64 one: a dtype mismatch is an error naming the
// parameter and both dtypes, never a silent conversion), and sd may hold no
// other names except extra names (IsExtraName). All problems are checked
// and reported together, in PyTorch's manner (missing keys, unexpected
// keys, size and dtype mismatches), before any parameter is changed. Where
// sd holds different values under the names of one shared parameter, the
// last name in state_dict order wins, as in torch.
func LoadStateDict(sd map[string]safetensors.Tensor, m Parameterized) error {
	if err := loadStateDict(sd, m); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// slot is one state_dict entry of a model: a parameter or a float buffer
// (value, on the device) or a count buffer (on the host).
type slot struct {
	name, kind string // kind: "parameter" or "buffer"
	value      *tensor.Tensor
	shape      []int
	count      *int64
}

func (s slot) fileDType() string {
	if s.count != nil {
		return "I64"
	}
	return fileDType(s.value.DType())
}

// slots lists m's state_dict entries, parameters first.
func slots(m Parameterized) []slot {
	var out []slot
	for _, p := range AllNamedParams(m) {
		out = append(out, slot{name: p.Name, kind: "parameter", value: p.Var.Value(), shape: p.Var.Shape()})
	}
	for _, b := range NamedBuffers(m) {
		if b.Count != nil {
			out = append(out, slot{name: b.Name, kind: "buffer", count: b.Count, shape: []int{}})
		} else {
			out = append(out, slot{name: b.Name, kind: "buffer", value: b.Value, shape: b.Value.Shape()})
		}
	}
	return out
}

func loadStateDict(sd map[string]safetensors.Tensor, m Parameterized) error {
	entries := slots(m)
	want := map[string]bool{}
	var problems []string
	missing := map[string][]string{}
	// values[i] holds entry i's new values: a []float32, []float64 or
	// []int64.
	values := make([]any, len(entries))
	for i, e := range entries {
		want[e.name] = true
		t, ok := sd[e.name]
		if !ok {
			missing[e.kind] = append(missing[e.kind], e.name)
			continue
		}
		fd := e.fileDType()
		badType, badShape := t.DType != fd, !sameShape(t.Shape, e.shape)
		if badType {
			if fd == "" {
				fd = e.value.DType().String()
			}
			problems = append(problems, fmt.Sprintf("dtype mismatch for %s: checkpoint has %s, model has %s", e.name, t.DType, fd))
		}
		if badShape {
			problems = append(problems, fmt.Sprintf("size mismatch for %s: checkpoint has shape %v, model has %v", e.name, t.Shape, e.shape))
		}
		if badType || badShape {
			continue
		}
		var v any
		var err error
		switch {
		case e.count != nil:
			v, err = t.Int64()
		case e.value.DType() == device.Float64:
			v, err = t.Float64()
		default:
			v, err = t.Float32()
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.name, err))
			continue
		}
		values[i] = v
	}
	var unexpected []string
	for _, name := range slices.Sorted(maps.Keys(sd)) {
		if !want[name] && !IsExtraName(name) {
			unexpected = append(unexpected, name)
		}
	}
	for _, kind := range []string{"parameter", "buffer"} {
		if names := missing[kind]; len(names) > 0 {
			problems = append(problems, "missing "+plural(len(names), kind)+": "+strings.Join(names, ", "))
		}
	}
	if len(unexpected) > 0 {
		problems = append(problems, "unexpected "+plural(len(unexpected), "tensor")+": "+strings.Join(unexpected, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrStateDict, strings.Join(problems, "; "))
	}
	for i, e := range entries {
		var err error
		switch v := values[i].(type) {
		case []float32:
			err = e.value.Device().Upload32(e.value.Buffer(), v)
		case []float64:
			err = e.value.Device().Upload64(e.value.Buffer(), v)
		case []int64:
			*e.count = v[0]
		}
		if err != nil {
			return fmt.Errorf("loading %s: %w", e.name, err)
		}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return what
	}
	return what + "s"
}

// Save writes m's parameters and the metadata to a safetensors file at
// path, atomically: the file is written under a temporary name and renamed,
// so a failure leaves any previous file intact.
func Save(path string, m Parameterized, meta map[string]string) error {
	return SaveWith(path, m, meta, nil)
}

// SaveWith is Save with extra tensors (optimizer state, preprocessing)
// stored beside the parameters. Their names must be extra names
// (IsExtraName), such as "optim/0/exp_avg", so that PyTorch's strict
// load_state_dict can tell them apart and Load ignores them.
func SaveWith(path string, m Parameterized, meta map[string]string, extra map[string]safetensors.Tensor) error {
	sd, err := StateDict(m)
	if err != nil {
		return err
	}
	for name, t := range extra {
		if !IsExtraName(name) {
			return fmt.Errorf("nn: SaveWith: extra tensor name %q must contain '/'", name)
		}
		sd[name] = t
	}
	f := &safetensors.File{Tensors: sd, Metadata: maps.Clone(meta)}
	if err := safetensors.SaveFile(path, f); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// Load reads a safetensors checkpoint into m's parameters (see
// LoadStateDict) and returns the whole file, for its metadata and extra
// tensors. On error m is unchanged.
func Load(path string, m Parameterized) (*safetensors.File, error) {
	f, err := safetensors.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	if err := loadStateDict(f.Tensors, m); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", path, err)
	}
	return f, nil
}
