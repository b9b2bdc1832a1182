package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/adjoint-go/adjoint/safetensors"
)

func Example() {
	f := &safetensors.File{
		Tensors: map[string]safetensors.Tensor{
			"weight": safetensors.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
			"bias":   safetensors.FromFloat32([]int{2}, []float32{0.5, -0.5}),
		},
		Metadata: map[string]string{"format": "pt"},
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, f); err != nil {
		panic(err)
	}
	b := buf.Bytes()
	n := int(b[0]) // header length (little-endian uint64; small here)
	fmt.Printf("header length %d, file %d bytes\n", n, len(b))
	fmt.Printf("%s\n", bytes.TrimRight(b[8:8+n], " "))

	g, err := safetensors.Read(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	w, err := g.Tensors["weight"].Float32()
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Tensors["weight"].Shape, w, g.Metadata["format"])
	// Output:
	// header length 152, file 192 bytes
	// {"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}
	// [2 3] [1 2 3 4 5 6] pt
}
