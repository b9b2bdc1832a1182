package data_test

import (
	"fmt"

	"github.com/adjoint-go/adjoint/data"
)

func Example() {
	d, err := data.Digits()
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Name, d.Len(), "samples,", d.Features, "features,", d.Classes, "classes")

	train, test, err := data.Split(d, 0.2, 42)
	if err != nil {
		panic(err)
	}
	fmt.Println("train", train.Len(), "test", test.Len())

	// Standardize with statistics of the training set only.
	s := data.FitStandardizer(train.X, train.Features)
	s.Apply(train.X)
	s.Apply(test.X)

	b := data.NewBatcher(train, 64, true, 1)
	fmt.Println("batches per epoch", b.NumBatches())
	n := 0
	for _, _, k, ok := b.Next(); ok; _, _, k, ok = b.Next() {
		n += k
	}
	fmt.Println("samples seen", n)
	// Output:
	// digits 1797 samples, 64 features, 10 classes
	// train 1438 test 359
	// batches per epoch 23
	// samples seen 1438
}

func ExampleDiabetes() {
	d, err := data.Diabetes()
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Name, d.Task, d.Len(), "×", d.Features, "targets", d.Targets)
	fmt.Println("first target", d.Y[0])
	// Output:
	// diabetes regression 442 × 10 targets 1
	// first target 151
}
