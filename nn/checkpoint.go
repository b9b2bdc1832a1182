package nn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/adjoint-go/adjoint/autograd"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/safetensors"
)

// ErrStateDict is wrapped by the errors of LoadStateDict and Load that
// describe a checkpoint that does not fit the model.
var ErrStateDict = errors.New("checkpoint does not match the model")

// IsExtraName reports whether name is reserved for state other than module
// parameters: it contains '/', which PyTorch state_dict names never do.
func IsExtraName(name string) bool { return strings.Contains(name, "/") }

// StateDict downloads m's parameters as safetensors tensors keyed by their
// state_dict names, each in its parameter's dtype: F32 for a float32
// parameter, F64 for a float64 one, so a float64 model's checkpoint holds
// its values exactly. Like torch's state_dict it holds every name
// (AllNamedParams): a parameter shared by two layers is stored under both,
// so that torch's strict load_state_dict accepts the checkpoint.
func StateDict(m Parameterized) (map[string]safetensors.Tensor, error) {
	out := map[string]safetensors.Tensor{}
	for _, p := range AllNamedParams(m) {
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("nn: StateDict: two parameters named %q", p.Name)
		}
		t, err := download(p.Var)
		if err != nil {
			return nil, fmt.Errorf("nn: StateDict: %s: %w", p.Name, err)
		}
		out[p.Name] = t
	}
	return out, nil
}

// download copies the value of p to the host as a safetensors tensor of
// p's dtype.
func download(p *autograd.Var) (safetensors.Tensor, error) {
	v := p.Value()
	switch v.DType() {
	case device.Float32:
		d, err := v.Float32s()
		if err != nil {
			return safetensors.Tensor{}, err
		}
		return safetensors.FromFloat32(p.Shape(), d), nil
	case device.Float64:
		d, err := v.Float64s()
		if err != nil {
			return safetensors.Tensor{}, err
		}
		return safetensors.FromFloat64(p.Shape(), d), nil
	}
	return safetensors.Tensor{}, fmt.Errorf("parameter dtype %v has no safetensors dtype", v.DType())
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

// LoadStateDict copies the tensors of sd into m's parameters. Every
// state_dict name of m (AllNamedParams: a shared parameter under each of
// its names, as torch's strict load_state_dict wants) must be present as
// a tensor of the parameter's shape and dtype (F32 for a float32
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

func loadStateDict(sd map[string]safetensors.Tensor, m Parameterized) error {
	params := AllNamedParams(m)
	want := map[string]bool{}
	var problems []string
	var missing []string
	// values[i] holds parameter i's new values in its dtype: a []float32
	// or a []float64.
	values := make([]any, len(params))
	for i, p := range params {
		want[p.Name] = true
		t, ok := sd[p.Name]
		if !ok {
			missing = append(missing, p.Name)
			continue
		}
		dt := p.Var.Value().DType()
		fd := fileDType(dt)
		badType, badShape := t.DType != fd, !sameShape(t.Shape, p.Var.Shape())
		if badType {
			if fd == "" {
				fd = dt.String()
			}
			problems = append(problems, fmt.Sprintf("dtype mismatch for %s: checkpoint has %s, model has %s", p.Name, t.DType, fd))
		}
		if badShape {
			problems = append(problems, fmt.Sprintf("size mismatch for %s: checkpoint has shape %v, model has %v", p.Name, t.Shape, p.Var.Shape()))
		}
		if badType || badShape {
			continue
		}
		var v any
		var err error
		if dt == device.Float64 {
			v, err = t.Float64()
		} else {
			v, err = t.Float32()
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p.Name, err))
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
	if len(missing) > 0 {
		problems = append(problems, "missing "+plural(len(missing), "parameter")+": "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		problems = append(problems, "unexpected "+plural(len(unexpected), "tensor")+": "+strings.Join(unexpected, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrStateDict, strings.Join(problems, "; "))
	}
	for i, p := range params {
		dev := p.Var.Value().Device()
		var err error
		switch v := values[i].(type) {
		case []float32:
			err = dev.Upload32(p.Var.Value().Buffer(), v)
		case []float64:
			err = dev.Upload64(p.Var.Value().Buffer(), v)
		}
		if err != nil {
			return fmt.Errorf("loading %s: %w", p.Name, err)
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
