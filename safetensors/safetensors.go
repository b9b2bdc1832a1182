package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header Read and Parse accept, and Write
// produces: 100 MiB.
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding the string→string metadata.
const metadataKey = "__metadata__"

// dtypeSizes maps every dtype name this package recognises to its size in
// bytes. Tensors of any of them can be read and written as raw bytes; only
// F32 and F64 can be decoded to floats.
var dtypeSizes = map[string]int{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
}

// DTypeSize returns the size in bytes of one element of the given dtype,
// and whether the dtype is recognised.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one named array of a File: its dtype name (such as "F32"), its
// shape (empty for a scalar) and its elements as raw little-endian bytes in
// row-major order.
type Tensor struct {
	DType string
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file: named tensors and optional
// string metadata (the header's "__metadata__" entry).
type File struct {
	Tensors  map[string]Tensor
	Metadata map[string]string
}

// byteSize returns the number of elements of shape and their size in bytes
// for dtype, checking that the dtype is known, the dimensions are
// non-negative and nothing overflows.
func byteSize(dtype string, shape []int) (elems, size uint64, err error) {
	es, ok := dtypeSizes[dtype]
	if !ok {
		return 0, 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	elems = 1
	for _, d := range shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		hi, lo := bits.Mul64(elems, uint64(d))
		if hi != 0 {
			return 0, 0, fmt.Errorf("shape %v is too large", shape)
		}
		elems = lo
	}
	hi, size := bits.Mul64(elems, uint64(es))
	if hi != 0 || size > math.MaxInt {
		return 0, 0, fmt.Errorf("shape %v of %s is too large", shape, dtype)
	}
	return elems, size, nil
}

// NumElements returns the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// validate checks dtype, shape and that Data has exactly the right size.
func (t Tensor) validate() error {
	_, size, err := byteSize(t.DType, t.Shape)
	if err != nil {
		return err
	}
	if uint64(len(t.Data)) != size {
		return fmt.Errorf("has %d data bytes, want %d for shape %v of %s", len(t.Data), size, shapeString(t.Shape), t.DType)
	}
	return nil
}

// FromFloat32 returns an F32 tensor with the given shape holding v. The
// shape is copied. It does not check that len(v) matches the shape; Write
// does.
func FromFloat32(shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{DType: "F32", Shape: cloneShape(shape), Data: b}
}

// FromFloat64 returns an F64 tensor with the given shape holding v. The
// shape is copied. It does not check that len(v) matches the shape; Write
// does.
func FromFloat64(shape []int, v []float64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Tensor{DType: "F64", Shape: cloneShape(shape), Data: b}
}

// FromInt64 returns an I64 tensor with the given shape holding v, such
// as torch's num_batches_tracked counter (shape [], a scalar). The shape
// is copied. It does not check that len(v) matches the shape; Write does.
func FromInt64(shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{DType: "I64", Shape: cloneShape(shape), Data: b}
}

func cloneShape(s []int) []int {
	if s == nil {
		return []int{}
	}
	return slices.Clone(s)
}

// Float32 decodes the elements of an F32 tensor, or of an F64 tensor
// converted to float32. Other dtypes give an "unsupported dtype" error, as
// does a Data length that does not match the shape.
func (t Tensor) Float32() ([]float32, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	switch t.DType {
	case "F32":
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	case "F64":
		out := make([]float32, len(t.Data)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("safetensors: unsupported dtype %s for Float32 (supported: F32, F64)", t.DType)
}

// Float64 decodes the elements of an F64 tensor, or of an F32 tensor
// widened to float64. Other dtypes give an "unsupported dtype" error.
func (t Tensor) Float64() ([]float64, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	switch t.DType {
	case "F64":
		out := make([]float64, len(t.Data)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
		return out, nil
	case "F32":
		out := make([]float64, len(t.Data)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("safetensors: unsupported dtype %s for Float64 (supported: F32, F64)", t.DType)
}

// Int64 decodes the elements of an I64 tensor. Other dtypes give an
// "unsupported dtype" error: a float is never truncated to a count.
func (t Tensor) Int64() ([]int64, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if t.DType != "I64" {
		return nil, fmt.Errorf("safetensors: unsupported dtype %s for Int64 (supported: I64)", t.DType)
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// shapeString formats a shape as [2 3].
func shapeString(s []int) string { return fmt.Sprint(s) }

// ---------------------------------------------------------------- writing

// Write encodes f in the safetensors format. The output is deterministic:
// metadata keys and tensors are sorted by name, tensors are laid out in
// that order, and the header is padded with spaces to a multiple of 8
// bytes so that the data buffer starts 8-byte aligned. Every tensor is
// validated first (known dtype, non-negative shape, len(Data) matching the
// shape); on a validation error nothing is written.
func Write(w io.Writer, f *File) error {
	if err := write(w, f); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

func write(w io.Writer, f *File) error {
	if f == nil {
		return errors.New("Write: nil File")
	}
	names := make([]string, 0, len(f.Tensors))
	for name, t := range f.Tensors {
		if name == metadataKey {
			return fmt.Errorf("tensor name %q is reserved for metadata", name)
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("tensor name %q is not valid UTF-8", name)
		}
		if err := t.validate(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	keys := make([]string, 0, len(f.Metadata))
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: %q: not valid UTF-8", k, v)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var h bytes.Buffer
	h.WriteByte('{')
	if len(keys) > 0 {
		writeJSONString(&h, metadataKey)
		h.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, f.Metadata[k])
		}
		h.WriteByte('}')
	}
	var offset uint64
	for i, name := range names {
		t := f.Tensors[name]
		if i > 0 || len(keys) > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, name)
		h.WriteString(`:{"dtype":`)
		writeJSONString(&h, t.DType)
		h.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + uint64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return fmt.Errorf("header of %d bytes exceeds the limit of %d", h.Len(), MaxHeaderSize)
	}

	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(h.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("writing header length: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("writing header: %w", err)
	}
	for _, name := range names {
		if _, err := w.Write(f.Tensors[name].Data); err != nil {
			return fmt.Errorf("writing tensor %q: %w", name, err)
		}
	}
	return nil
}

// writeJSONString appends s as a JSON string, without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	// Encoding a string into a bytes.Buffer cannot fail.
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // drop Encode's newline
}

// ---------------------------------------------------------------- reading

// entry is one tensor's header record.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Parse decodes a complete safetensors file held in b, validating the
// header and the layout of the data buffer (see Read). The returned
// tensors' Data slices alias b (with capacity limited to their length).
func Parse(b []byte) (*File, error) {
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

func parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes that follow the length prefix", n, len(b)-8)
	}
	entries, meta, err := parseHeader(b[8 : 8+n])
	if err != nil {
		return nil, err
	}
	return assemble(entries, meta, b[8+n:], true)
}

// Read decodes a safetensors file from r and validates everything: the
// header length (at most MaxHeaderSize), that the header is well-formed
// UTF-8 JSON with no duplicate keys, that every tensor has a known dtype,
// a non-negative shape and data_offsets that match the shape's byte size,
// that the tensors exactly tile the data buffer (no overlaps, holes or
// trailing bytes) and that metadata values are strings. It reads no more
// than the header says the file holds, plus one byte to detect trailing
// data, and allocates only as the data actually arrives.
func Read(r io.Reader) (*File, error) {
	f, err := read(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

func read(r io.Reader) (*File, error) {
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, fmt.Errorf("reading header length: %w", noEOF(err))
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if uint64(len(header)) != n {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes that follow the length prefix", n, len(header))
	}
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	var want uint64
	for _, e := range entries {
		want = max(want, e.end)
	}
	// Read one byte more than needed to detect trailing data. Absurd
	// offsets just read to the end of r; assemble then reports them.
	want = min(want, math.MaxInt64-1)
	buf, err := io.ReadAll(io.LimitReader(r, int64(want)+1))
	if err != nil {
		return nil, fmt.Errorf("reading data: %w", err)
	}
	return assemble(entries, meta, buf, false)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// assemble checks the entries against the data buffer and builds the File.
// whole says buf is the complete rest of the input; Read passes false, as
// it reads at most one byte past the end of the last tensor.
func assemble(entries []entry, meta map[string]string, buf []byte, whole bool) (*File, error) {
	for _, e := range entries {
		_, size, err := byteSize(e.dtype, e.shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		if e.begin > e.end {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d %d] are reversed", e.name, e.begin, e.end)
		}
		if e.end-e.begin != size {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d %d] do not match shape %s of %s (%d bytes)", e.name, e.begin, e.end, shapeString(e.shape), e.dtype, size)
		}
		if e.end > uint64(len(buf)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d %d] exceed the %d-byte data buffer (file truncated?)", e.name, e.begin, e.end, len(buf))
		}
	}
	order := slices.Clone(entries)
	slices.SortFunc(order, func(a, b entry) int {
		if a.begin != b.begin {
			return cmpU64(a.begin, b.begin)
		}
		if a.end != b.end {
			return cmpU64(a.end, b.end)
		}
		return strings.Compare(a.name, b.name)
	})
	var covered uint64
	prev := ""
	for _, e := range order {
		if e.begin < covered {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d %d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, covered)
		}
		if e.begin > covered {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d %d] leave bytes [%d %d) of the data buffer unused", e.name, e.begin, e.end, covered, e.begin)
		}
		if e.end > e.begin {
			covered, prev = e.end, e.name
		}
	}
	if covered != uint64(len(buf)) {
		if !whole {
			return nil, fmt.Errorf("data buffer continues past the %d bytes the tensors cover (trailing data)", covered)
		}
		return nil, fmt.Errorf("data buffer has %d bytes but the tensors cover only %d (trailing data)", len(buf), covered)
	}
	f := &File{Tensors: make(map[string]Tensor, len(entries)), Metadata: meta}
	for _, e := range entries {
		f.Tensors[e.name] = Tensor{DType: e.dtype, Shape: e.shape, Data: buf[e.begin:e.end:e.end]}
	}
	return f, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// headerParser walks the header JSON token by token, so that duplicate
// keys, unknown fields and wrong types are reported instead of silently
// resolved as encoding/json would.
type headerParser struct {
	dec *json.Decoder
}

// parseHeader validates the JSON header and returns its tensor entries (in
// header order) and metadata (never nil).
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	if len(h) == 0 {
		return nil, nil, errors.New("header is empty")
	}
	if !utf8.Valid(h) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if h[0] != '{' {
		return nil, nil, fmt.Errorf("header does not start with '{' (starts with %q)", h[0])
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	p := headerParser{dec: dec}
	if err := p.delim('{', "header"); err != nil {
		return nil, nil, err
	}
	var (
		entries []entry
		meta    = map[string]string{}
		seen    = map[string]bool{}
	)
	for dec.More() {
		key, err := p.key("header")
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("header: duplicate key %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			if err := p.metadata(meta); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.info(key)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := p.delim('}', "header"); err != nil {
		return nil, nil, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("header: invalid JSON after the header object: %w", err)
		}
		return nil, nil, fmt.Errorf("header: unexpected %v after the header object", tokenString(tok))
	}
	return entries, meta, nil
}

func tokenString(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("'%c'", rune(t))
	case string:
		return fmt.Sprintf("string %q", t)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", t)
	}
}

// token returns the next token, wrapping syntax errors with what.
func (p headerParser) token(what string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: invalid JSON: %w", what, err)
	}
	return tok, nil
}

func (p headerParser) delim(want json.Delim, what string) error {
	tok, err := p.token(what)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		kind := "object"
		if want == '[' {
			kind = "array"
		}
		if want == '{' || want == '[' {
			return fmt.Errorf("%s: want a JSON %s, found %s", what, kind, tokenString(tok))
		}
		return fmt.Errorf("%s: want '%c', found %s", what, rune(want), tokenString(tok))
	}
	return nil
}

func (p headerParser) key(what string) (string, error) {
	tok, err := p.token(what)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: want an object key, found %s", what, tokenString(tok))
	}
	return k, nil
}

func (p headerParser) metadata(meta map[string]string) error {
	const what = "__metadata__"
	tok, err := p.token(what)
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "__metadata__": null means no metadata
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s: want a JSON object of strings, found %s", what, tokenString(tok))
	}
	for p.dec.More() {
		k, err := p.key(what)
		if err != nil {
			return err
		}
		if _, dup := meta[k]; dup {
			return fmt.Errorf("%s: duplicate key %q", what, k)
		}
		tok, err := p.token(what)
		if err != nil {
			return err
		}
		v, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%s: value of %q is %s, but metadata values must be strings", what, k, tokenString(tok))
		}
		meta[k] = v
	}
	return p.delim('}', what)
}

func (p headerParser) info(name string) (entry, error) {
	what := fmt.Sprintf("tensor %q", name)
	e := entry{name: name}
	if err := p.delim('{', what); err != nil {
		return e, err
	}
	var haveDType, haveShape, haveOffsets bool
	for p.dec.More() {
		k, err := p.key(what)
		if err != nil {
			return e, err
		}
		switch k {
		case "dtype":
			if haveDType {
				return e, fmt.Errorf("%s: duplicate field \"dtype\"", what)
			}
			haveDType = true
			tok, err := p.token(what)
			if err != nil {
				return e, err
			}
			s, ok := tok.(string)
			if !ok {
				return e, fmt.Errorf("%s: dtype is %s, want a string", what, tokenString(tok))
			}
			if _, known := dtypeSizes[s]; !known {
				return e, fmt.Errorf("%s: unknown dtype %q", what, s)
			}
			e.dtype = s
		case "shape":
			if haveShape {
				return e, fmt.Errorf("%s: duplicate field \"shape\"", what)
			}
			haveShape = true
			dims, err := p.uints(what, "shape")
			if err != nil {
				return e, err
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return e, fmt.Errorf("%s: shape dimension %d is too large", what, d)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return e, fmt.Errorf("%s: duplicate field \"data_offsets\"", what)
			}
			haveOffsets = true
			offs, err := p.uints(what, "data_offsets")
			if err != nil {
				return e, err
			}
			if len(offs) != 2 {
				return e, fmt.Errorf("%s: data_offsets has %d elements, want 2 ([begin, end])", what, len(offs))
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			return e, fmt.Errorf("%s: unknown field %q", what, k)
		}
	}
	if err := p.delim('}', what); err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, fmt.Errorf("%s: missing field \"dtype\"", what)
	case !haveShape:
		return e, fmt.Errorf("%s: missing field \"shape\"", what)
	case !haveOffsets:
		return e, fmt.Errorf("%s: missing field \"data_offsets\"", what)
	}
	return e, nil
}

// uints reads a JSON array of non-negative integers.
func (p headerParser) uints(what, field string) ([]uint64, error) {
	if err := p.delim('[', what+": "+field); err != nil {
		return nil, err
	}
	var out []uint64
	for p.dec.More() {
		tok, err := p.token(what)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: %s element is %s, want a non-negative integer", what, field, tokenString(tok))
		}
		v, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			if strings.HasPrefix(string(num), "-") {
				return nil, fmt.Errorf("%s: %s element %s is negative", what, field, num)
			}
			return nil, fmt.Errorf("%s: %s element %s is not a non-negative integer", what, field, num)
		}
		out = append(out, v)
	}
	if err := p.delim(']', what); err != nil {
		return nil, err
	}
	if out == nil {
		out = []uint64{}
	}
	return out, nil
}
