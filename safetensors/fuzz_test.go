package safetensors

import (
	"bytes"
	"testing"
)

// FuzzRead checks that Read and Parse never panic, agree with each other,
// and that whatever they accept re-encodes to a file that reads back to
// the same content and re-encodes to the same bytes. Seeds live in
// testdata/fuzz/FuzzRead; run with
//
//	go test -fuzz FuzzRead ./safetensors
func FuzzRead(f *testing.F) {
	f.Add(raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0x80, 0x3f))
	f.Add(raw(`{"__metadata__":{"k":"v"},"e":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Read(bytes.NewReader(in))
		parsed, perr := Parse(in)
		if (err == nil) != (perr == nil) {
			t.Fatalf("Read error %v, Parse error %v", err, perr)
		}
		if err != nil {
			if got != nil || parsed != nil {
				t.Fatalf("non-nil File with error %v", err)
			}
			return
		}
		if !sameFile(got, parsed) {
			t.Fatalf("Read and Parse disagree")
		}
		var buf bytes.Buffer
		if err := Write(&buf, got); err != nil {
			t.Fatalf("accepted file does not re-encode: %v", err)
		}
		again, err := Read(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded file does not read back: %v\n%q", err, buf.Bytes())
		}
		if !sameFile(got, again) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v", got, again)
		}
		var buf2 bytes.Buffer
		if err := Write(&buf2, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("encoding not canonical:\n%q\n%q", buf.Bytes(), buf2.Bytes())
		}
	})
}

func sameFile(a, b *File) bool {
	if len(a.Tensors) != len(b.Tensors) || len(a.Metadata) != len(b.Metadata) {
		return false
	}
	for k, v := range a.Metadata {
		if w, ok := b.Metadata[k]; !ok || v != w {
			return false
		}
	}
	for name, x := range a.Tensors {
		y, ok := b.Tensors[name]
		if !ok || x.DType != y.DType || !bytes.Equal(x.Data, y.Data) || len(x.Shape) != len(y.Shape) {
			return false
		}
		for i := range x.Shape {
			if x.Shape[i] != y.Shape[i] {
				return false
			}
		}
	}
	return true
}
