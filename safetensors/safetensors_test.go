package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raw builds a file from a header string and a data buffer, with the
// correct length prefix and no padding.
func raw(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func encode(t *testing.T, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, f))
	return buf.Bytes()
}

func TestKnownBytes(t *testing.T) {
	f := &File{Tensors: map[string]Tensor{
		"b": FromFloat64([]int{}, []float64{0.5}),
		"a": FromFloat32([]int{2}, []float32{1, -2}),
	}}
	// The header JSON is 107 bytes, padded with 5 spaces to 112 = 0x70.
	header := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[],"data_offsets":[8,16]}}`
	require.Len(t, header, 107)
	want := []byte{0x70, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, header...)
	want = append(want, "     "...)
	want = append(want,
		0x00, 0x00, 0x80, 0x3f, // float32(1)
		0x00, 0x00, 0x00, 0xc0, // float32(-2)
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, // float64(0.5)
	)
	got := encode(t, f)
	assert.Equal(t, want, got)
	assert.Zero(t, (8+binary.LittleEndian.Uint64(got))%8, "data buffer 8-byte aligned")

	t.Run("with metadata", func(t *testing.T) {
		f := &File{
			Tensors:  map[string]Tensor{"x": {DType: "U8", Shape: []int{1}, Data: []byte{7}}},
			Metadata: map[string]string{"z": "<&>", "a": `q"uote`},
		}
		header := `{"__metadata__":{"a":"q\"uote","z":"<&>"},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
		require.Len(t, header, 94)
		want := append([]byte{96, 0, 0, 0, 0, 0, 0, 0}, header...)
		want = append(want, "  "...)
		want = append(want, 7)
		assert.Equal(t, want, encode(t, f))
	})
	t.Run("empty file", func(t *testing.T) {
		assert.Equal(t, []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}, encode(t, &File{}))
	})
	t.Run("reads hand-made bytes", func(t *testing.T) {
		g, err := Parse(want)
		require.NoError(t, err)
		a, err := g.Tensors["a"].Float32()
		require.NoError(t, err)
		assert.Equal(t, []float32{1, -2}, a)
		b, err := g.Tensors["b"].Float64()
		require.NoError(t, err)
		assert.Equal(t, []float64{0.5}, b)
		assert.Equal(t, []int{}, g.Tensors["b"].Shape)
		assert.Empty(t, g.Metadata)
	})
}

func TestRoundTrip(t *testing.T) {
	f := &File{
		Tensors: map[string]Tensor{
			"0.weight":   FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, float32(math.Inf(-1))}),
			"0.bias":     FromFloat32([]int{3}, []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN())}),
			"scalar":     FromFloat64(nil, []float64{math.Pi}),
			"empty":      FromFloat32([]int{0, 5}, nil),
			"empty2":     {DType: "I64", Shape: []int{3, 0}, Data: []byte{}},
			"ids":        {DType: "I64", Shape: []int{2}, Data: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
			"half":       {DType: "BF16", Shape: []int{1, 1, 2}, Data: []byte{0x80, 0x3f, 0x00, 0x40}},
			"mask":       {DType: "BOOL", Shape: []int{3}, Data: []byte{1, 0, 1}},
			`we"ird/ñ`:   {DType: "F16", Shape: []int{1}, Data: []byte{0x00, 0x3c}},
			"i32":        {DType: "I32", Shape: []int{1}, Data: []byte{1, 2, 3, 4}},
			"i16_and_i8": {DType: "I16", Shape: []int{2}, Data: []byte{1, 2, 3, 4}},
		},
		Metadata: map[string]string{"format": "pt", "epoch": "3", "note": "<b>&é\n"},
	}
	b := encode(t, f)
	for _, tc := range []struct {
		name string
		read func([]byte) (*File, error)
	}{
		{"Read", func(b []byte) (*File, error) { return Read(bytes.NewReader(b)) }},
		{"Read one byte at a time", func(b []byte) (*File, error) { return Read(iotest.OneByteReader(bytes.NewReader(b))) }},
		{"Parse", Parse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.read(b)
			require.NoError(t, err)
			require.Len(t, g.Tensors, len(f.Tensors))
			for name, want := range f.Tensors {
				got := g.Tensors[name]
				assert.Equal(t, want.DType, got.DType, name)
				assert.Equal(t, cloneShape(want.Shape), got.Shape, name)
				assert.Equal(t, want.Data, got.Data, name)
				assert.Equal(t, len(got.Data), cap(got.Data), "%s: capacity limited so appends cannot clobber neighbours", name)
			}
			assert.Equal(t, f.Metadata, g.Metadata)
			// Re-encoding is byte-identical.
			assert.Equal(t, b, encode(t, g))
		})
	}
	t.Run("float decode", func(t *testing.T) {
		g, err := Parse(b)
		require.NoError(t, err)
		w, err := g.Tensors["0.weight"].Float32()
		require.NoError(t, err)
		assert.Equal(t, []float32{1, 2, 3, 4, 5, float32(math.Inf(-1))}, w)
		bias, err := g.Tensors["0.bias"].Float32()
		require.NoError(t, err)
		assert.True(t, math.Signbit(float64(bias[1])))
		assert.True(t, math.IsNaN(float64(bias[2])))
		s, err := g.Tensors["scalar"].Float32()
		require.NoError(t, err)
		assert.Equal(t, []float32{float32(math.Pi)}, s)
		s64, err := g.Tensors["scalar"].Float64()
		require.NoError(t, err)
		assert.Equal(t, []float64{math.Pi}, s64)
		w64, err := g.Tensors["0.weight"].Float64()
		require.NoError(t, err)
		assert.Equal(t, []float64{1, 2, 3, 4, 5, math.Inf(-1)}, w64)
		e, err := g.Tensors["empty"].Float32()
		require.NoError(t, err)
		assert.Empty(t, e)
		assert.Equal(t, 6, g.Tensors["0.weight"].NumElements())
		assert.Equal(t, 1, g.Tensors["scalar"].NumElements())
		assert.Equal(t, 0, g.Tensors["empty"].NumElements())
	})
}

func TestTensorDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want string
	}{
		{"unsupported", Tensor{DType: "I64", Shape: []int{1}, Data: make([]byte, 8)}, "safetensors: unsupported dtype I64 for Float32 (supported: F32, F64)"},
		{"unsupported bf16", Tensor{DType: "BF16", Shape: []int{1}, Data: make([]byte, 2)}, "unsupported dtype BF16"},
		{"unknown", Tensor{DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}, `unknown dtype "F128"`},
		{"length mismatch", FromFloat32([]int{2, 2}, []float32{1, 2, 3}), "has 12 data bytes, want 16 for shape [2 2] of F32"},
		{"negative shape", Tensor{DType: "F32", Shape: []int{-1}}, "negative dimension"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.t.Float32()
			assert.ErrorContains(t, err, tc.want)
			_, err = tc.t.Float64()
			assert.ErrorContains(t, err, strings.ReplaceAll(tc.want, "Float32", "Float64"))
		})
	}
	t.Run("FromFloat32 copies shape", func(t *testing.T) {
		shape := []int{2}
		tt := FromFloat32(shape, []float32{1, 2})
		shape[0] = 5
		assert.Equal(t, []int{2}, tt.Shape)
	})
	t.Run("Int64", func(t *testing.T) {
		// A scalar, as torch writes num_batches_tracked: shape [], 8 bytes.
		f := &File{Tensors: map[string]Tensor{"n": FromInt64(nil, []int64{-3})}}
		got, err := Parse(encode(t, f))
		require.NoError(t, err)
		n := got.Tensors["n"]
		assert.Equal(t, "I64", n.DType)
		assert.Empty(t, n.Shape)
		v, err := n.Int64()
		require.NoError(t, err)
		assert.Equal(t, []int64{-3}, v)
		big, err := FromInt64([]int{2}, []int64{math.MaxInt64, math.MinInt64}).Int64()
		require.NoError(t, err)
		assert.Equal(t, []int64{math.MaxInt64, math.MinInt64}, big)
		_, err = FromFloat32([]int{1}, []float32{1}).Int64()
		assert.EqualError(t, err, "safetensors: unsupported dtype F32 for Int64 (supported: I64)")
		_, err = Tensor{DType: "I64", Shape: []int{2}, Data: make([]byte, 8)}.Int64()
		assert.ErrorContains(t, err, "has 8 data bytes, want 16")
	})
	t.Run("DTypeSize", func(t *testing.T) {
		for dt, n := range map[string]int{"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1} {
			got, ok := DTypeSize(dt)
			assert.True(t, ok, dt)
			assert.Equal(t, n, got, dt)
		}
		_, ok := DTypeSize("f32")
		assert.False(t, ok)
	})
}

type failWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, w.err
}

func TestWriteErrors(t *testing.T) {
	good := FromFloat32([]int{2}, []float32{1, 2})
	tests := []struct {
		name string
		f    *File
		want string
	}{
		{"nil file", nil, "safetensors: Write: nil File"},
		{"reserved name", &File{Tensors: map[string]Tensor{"__metadata__": good}}, `tensor name "__metadata__" is reserved`},
		{"invalid UTF-8 name", &File{Tensors: map[string]Tensor{"a\xff": good}}, "not valid UTF-8"},
		{"invalid UTF-8 metadata", &File{Metadata: map[string]string{"k": "\xfe"}}, "not valid UTF-8"},
		{"unknown dtype", &File{Tensors: map[string]Tensor{"t": {DType: "F31", Shape: []int{1}, Data: make([]byte, 4)}}}, `safetensors: tensor "t": unknown dtype "F31"`},
		{"negative shape", &File{Tensors: map[string]Tensor{"t": {DType: "F32", Shape: []int{2, -3}}}}, `tensor "t": shape [2 -3] has a negative dimension`},
		{"data too short", &File{Tensors: map[string]Tensor{"0.weight": FromFloat32([]int{2, 3}, make([]float32, 5))}}, `safetensors: tensor "0.weight": has 20 data bytes, want 24 for shape [2 3] of F32`},
		{"overflowing shape", &File{Tensors: map[string]Tensor{"t": {DType: "F64", Shape: []int{1 << 40, 1 << 40}}}}, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Zero(t, buf.Len(), "nothing written on validation error")
		})
	}
	f := &File{Tensors: map[string]Tensor{"a": good, "b": good}}
	size := len(encode(t, f))
	boom := errors.New("disk full")
	for _, n := range []int{0, 7, 8, 20, size - 9, size - 1} {
		err := Write(&failWriter{n: n, err: boom}, f)
		assert.ErrorIs(t, err, boom, "failing after %d bytes", n)
	}
}

func TestReadErrors(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	tensor := func(name, dtype, shape, offs string) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offs + `}`
	}
	tests := []struct {
		name string
		in   []byte
		want string // exact error text when it starts with "safetensors:", else a substring
	}{
		{"empty input", nil, "safetensors: file is 0 bytes, too short for the 8-byte header length"},
		{"short length prefix", []byte{1, 0, 0}, "too short for the 8-byte header length"},
		{"header length over limit", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), "safetensors: header length 104857601 exceeds the limit of 104857600 bytes"},
		{"header length max uint64", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "exceeds the limit"},
		{"header length past end", append(binary.LittleEndian.AppendUint64(nil, 10), "{}"...), "safetensors: header length 10 exceeds the 2 bytes that follow the length prefix"},
		{"zero header", raw(""), "safetensors: header is empty"},
		{"not an object", raw("[]"), "header does not start with '{'"},
		{"leading space", raw(" {}"), "header does not start with '{'"},
		{"invalid UTF-8", raw("{\"\xff\":1}"), "header is not valid UTF-8"},
		{"truncated JSON", raw(`{"a":{"dtype":"F32"`), "invalid JSON"},
		{"bad JSON", raw(`{"a" 1}`), "invalid JSON"},
		{"missing comma", raw(`{"a":{"dtype":"F32" "shape":[]}}`), "invalid JSON"},
		{"trailing comma", raw(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},}`), "invalid JSON"},
		{"trailing garbage", raw(`{}x`), "invalid JSON after the header object"},
		{"second object", raw(`{}{}`), "unexpected '{' after the header object"},
		{"info not an object", raw(`{"a":1}`), `tensor "a": want a JSON object, found 1`},
		{"unknown dtype", raw(`{`+tensor("a", "F33", "[1]", "[0,4]")+`}`, f32(1)...), `safetensors: tensor "a": unknown dtype "F33"`},
		{"dtype not a string", raw(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f32(1)...), `tensor "a": dtype is 4, want a string`},
		{"missing dtype", raw(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f32(1)...), `tensor "a": missing field "dtype"`},
		{"missing shape", raw(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f32(1)...), `tensor "a": missing field "shape"`},
		{"missing offsets", raw(`{"a":{"dtype":"F32","shape":[1]}}`, f32(1)...), `tensor "a": missing field "data_offsets"`},
		{"unknown field", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, f32(1)...), `tensor "a": unknown field "x"`},
		{"duplicate field", raw(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1)...), `tensor "a": duplicate field "dtype"`},
		{"duplicate tensor", raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("a", "F32", "[1]", "[4,8]")+`}`, f32(2)...), `header: duplicate key "a"`},
		{"duplicate tensor via escape", raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor(`\u0061`, "F32", "[1]", "[4,8]")+`}`, f32(2)...), `duplicate key "a"`},
		{"negative shape", raw(`{`+tensor("a", "F32", "[2,-1]", "[0,4]")+`}`, f32(1)...), `safetensors: tensor "a": shape element -1 is negative`},
		{"fractional shape", raw(`{`+tensor("a", "F32", "[1.5]", "[0,4]")+`}`, f32(1)...), `tensor "a": shape element 1.5 is not a non-negative integer`},
		{"exponent shape", raw(`{`+tensor("a", "F32", "[1e0]", "[0,4]")+`}`, f32(1)...), `shape element 1e0 is not a non-negative integer`},
		{"shape not array", raw(`{`+tensor("a", "F32", `"1"`, "[0,4]")+`}`, f32(1)...), `tensor "a": shape: want a JSON array, found string "1"`},
		{"shape of strings", raw(`{`+tensor("a", "F32", `["1"]`, "[0,4]")+`}`, f32(1)...), `shape element is string "1"`},
		{"nested shape", raw(`{`+tensor("a", "F32", `[[1]]`, "[0,4]")+`}`, f32(1)...), `shape element is '['`},
		{"huge shape", raw(`{`+tensor("a", "F32", "[18446744073709551616]", "[0,4]")+`}`, f32(1)...), "not a non-negative integer"},
		{"overflowing shape", raw(`{`+tensor("a", "F64", "[4294967296,4294967296]", "[0,8]")+`}`, f32(2)...), `tensor "a": shape [4294967296 4294967296] is too large`},
		{"offsets wrong length", raw(`{`+tensor("a", "F32", "[1]", "[0,4,8]")+`}`, f32(1)...), `tensor "a": data_offsets has 3 elements, want 2`},
		{"negative offset", raw(`{`+tensor("a", "F32", "[1]", "[-4,0]")+`}`, f32(1)...), `data_offsets element -4 is negative`},
		{"reversed offsets", raw(`{`+tensor("a", "F32", "[0]", "[4,0]")+`}`, f32(1)...), `safetensors: tensor "a": data_offsets [4 0] are reversed`},
		{"size mismatch", raw(`{`+tensor("0.weight", "F32", "[2,3]", "[0,12]")+`}`, f32(3)...), `safetensors: tensor "0.weight": data_offsets [0 12] do not match shape [2 3] of F32 (24 bytes)`},
		{"truncated data", raw(`{`+tensor("a", "F32", "[2]", "[0,8]")+`}`, f32(1)...), `safetensors: tensor "a": data_offsets [0 8] exceed the 4-byte data buffer (file truncated?)`},
		{"offsets far out of range", raw(`{`+tensor("a", "U8", "[4]", "[18446744073709551610,18446744073709551614]")+`}`, f32(1)...), "exceed the 4-byte data buffer"},
		{"overlap", raw(`{`+tensor("a", "F32", "[2]", "[0,8]")+`,`+tensor("b", "F32", "[2]", "[4,12]")+`}`, f32(3)...), `safetensors: tensor "b": data_offsets [4 12] overlap tensor "a", which ends at 8`},
		{"identical offsets", raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("b", "F32", "[1]", "[0,4]")+`}`, f32(1)...), `tensor "b": data_offsets [0 4] overlap tensor "a"`},
		{"empty tensor inside another", raw(`{`+tensor("a", "F32", "[2]", "[0,8]")+`,`+tensor("z", "F32", "[0]", "[4,4]")+`}`, f32(2)...), `tensor "z": data_offsets [4 4] overlap tensor "a"`},
		{"hole", raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("b", "F32", "[1]", "[8,12]")+`}`, f32(3)...), `safetensors: tensor "b": data_offsets [8 12] leave bytes [4 8) of the data buffer unused`},
		{"hole at start", raw(`{`+tensor("a", "F32", "[1]", "[4,8]")+`}`, f32(2)...), `leave bytes [0 4) of the data buffer unused`},
		{"trailing data", raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`}`, f32(2)...), "the tensors cover"},
		{"data without tensors", raw(`{}`, 1), "(trailing data)"},
		{"metadata not object", raw(`{"__metadata__":"x"}`), `__metadata__: want a JSON object of strings, found string "x"`},
		{"metadata number value", raw(`{"__metadata__":{"epoch":3}}`), `safetensors: __metadata__: value of "epoch" is 3, but metadata values must be strings`},
		{"metadata object value", raw(`{"__metadata__":{"k":{}}}`), `value of "k" is '{'`},
		{"metadata null value", raw(`{"__metadata__":{"k":null}}`), `value of "k" is null`},
		{"metadata duplicate key", raw(`{"__metadata__":{"k":"a","k":"b"}}`), `__metadata__: duplicate key "k"`},
		{"metadata twice", raw(`{"__metadata__":{},"__metadata__":{}}`), `header: duplicate key "__metadata__"`},
		{"metadata truncated", raw(`{"__metadata__":{"k":"v"`), "__metadata__: invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(f *File, err error) {
				t.Helper()
				require.Error(t, err)
				assert.Nil(t, f)
				if strings.HasPrefix(tc.want, "safetensors:") {
					assert.EqualError(t, err, tc.want)
				} else {
					assert.Contains(t, err.Error(), tc.want)
					assert.True(t, strings.HasPrefix(err.Error(), "safetensors: "), err.Error())
				}
			}
			check(Parse(tc.in))
			if len(tc.in) >= 8 { // Read reports a short prefix differently
				check(Read(bytes.NewReader(tc.in)))
			}
		})
	}
	t.Run("Read short prefix", func(t *testing.T) {
		_, err := Read(bytes.NewReader([]byte{1, 2}))
		assert.EqualError(t, err, "safetensors: reading header length: unexpected EOF")
		_, err = Read(bytes.NewReader(nil))
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
	t.Run("Read propagates reader errors", func(t *testing.T) {
		boom := errors.New("boom")
		b := encode(t, &File{Tensors: map[string]Tensor{"a": FromFloat32([]int{4}, make([]float32, 4))}})
		for _, n := range []int{0, 4, 8, 20, len(b) - 1} {
			r := io.MultiReader(bytes.NewReader(b[:n]), iotest.ErrReader(boom))
			_, err := Read(r)
			assert.ErrorIs(t, err, boom, "after %d bytes", n)
		}
	})
	t.Run("Read stops after the data", func(t *testing.T) {
		b := encode(t, &File{Tensors: map[string]Tensor{"a": FromFloat32([]int{1}, []float32{3})}})
		r := bytes.NewReader(append(b, make([]byte, 1000)...))
		_, err := Read(r)
		assert.ErrorContains(t, err, "trailing data")
		assert.Equal(t, 999, r.Len(), "read at most one byte past the data")
	})
	t.Run("Parse trailing data message", func(t *testing.T) {
		_, err := Parse(raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`}`, f32(2)...))
		assert.EqualError(t, err, "safetensors: data buffer has 8 bytes but the tensors cover only 4 (trailing data)")
		_, err = Read(bytes.NewReader(raw(`{`+tensor("a", "F32", "[1]", "[0,4]")+`}`, f32(2)...)))
		assert.EqualError(t, err, "safetensors: data buffer continues past the 4 bytes the tensors cover (trailing data)")
	})
	t.Run("metadata null is no metadata", func(t *testing.T) {
		f, err := Parse(raw(`{"__metadata__":null}`))
		require.NoError(t, err)
		assert.Empty(t, f.Metadata)
		assert.NotNil(t, f.Metadata)
		assert.NotNil(t, f.Tensors)
	})
	t.Run("padding and whitespace accepted", func(t *testing.T) {
		f, err := Parse(raw("{ \"a\" : {\"data_offsets\":[0,4],\n\"shape\":[ 1 ],\t\"dtype\":\"F32\"} }   \n", f32(1)...))
		require.NoError(t, err)
		assert.Equal(t, []int{1}, f.Tensors["a"].Shape)
	})
	t.Run("empty tensors at shared boundaries", func(t *testing.T) {
		f, err := Parse(raw(`{`+tensor("e1", "F32", "[0]", "[0,0]")+`,`+tensor("a", "F32", "[1]", "[0,4]")+`,`+tensor("e2", "F32", "[3,0]", "[4,4]")+`,`+tensor("e3", "F32", "[0]", "[4,4]")+`}`, f32(1)...))
		require.NoError(t, err)
		assert.Len(t, f.Tensors, 4)
	})
}
