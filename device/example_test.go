package device_test

import (
	"errors"
	"fmt"

	_ "github.com/adjoint-go/adjoint/cpu" // registers "cpu"
	"github.com/adjoint-go/adjoint/device"
)

// Commands open a device by name; "auto" takes the GPU when the binary was
// built with -tags cuda and one is present, else the CPU.
func ExampleOpen() {
	dev, err := device.Open("auto")
	if err != nil {
		panic(err)
	}
	fmt.Println(dev.Name())

	_, err = device.Open("cuda") // in a build without -tags cuda
	fmt.Println(errors.Is(err, device.ErrUnavailable))
	// Output:
	// cpu
	// true
}

// A Gemm with transpose flags computes the three products of a linear
// layer's step; here the forward product Z = X Wᵀ for K = 2 samples.
func ExampleDevice_gemm() {
	dev, _ := device.Open("cpu")
	x, _ := dev.Alloc(device.Float32, 4) // X [2 × 2]
	w, _ := dev.Alloc(device.Float32, 6) // W [3 × 2]
	z, _ := dev.Alloc(device.Float32, 6) // Z [2 × 3]
	_ = dev.Upload32(x, []float32{1, 2, 3, 4})
	_ = dev.Upload32(w, []float32{1, 0, 0, 1, 1, 1})
	dev.Gemm(false, true, 2, 3, 2, 1, x, 2, w, 2, 0, z, 3)
	out := make([]float32, 6)
	_ = dev.Download32(out, z)
	fmt.Println(out)
	// Output: [1 2 3 3 4 7]
}
