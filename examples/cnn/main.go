// Command cnn trains a small convolutional network on the embedded 8×8
// digits, each image one channel of an NCHW batch [K, 1, 8, 8]:
//
//	Conv2d(1, 32, 3, padding 1) → ReLU → MaxPool2d(2) → Conv2d(32, 64, 3, padding 1) → ReLU
//	→ Flatten → Linear(1024, 10)
//
// the network torch.nn.Sequential would build from the same layers, whose
// checkpoint (written to cnn.safetensors with -save) torch loads with
// load_state_dict(strict=True). With -batchnorm a BatchNorm2d follows each
// Conv2d (Conv2d → BatchNorm2d → ReLU, as in ResNets): batch statistics in
// training, the running ones, which the checkpoint holds as buffers, for
// the test set. With -separable the second convolution is MobileNet's
// depthwise-separable pair: a depthwise Conv2d(32, 32, 3, padding 1,
// groups 32), one 3×3 filter per channel, then a pointwise Conv2d(32, 64,
// 1), about an eighth of the full convolution's parameters.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/adjoint-go/adjoint/autograd"
	_ "github.com/adjoint-go/adjoint/cpu" // registers the "cpu" device
	"github.com/adjoint-go/adjoint/data"
	"github.com/adjoint-go/adjoint/device"
	"github.com/adjoint-go/adjoint/loss"
	"github.com/adjoint-go/adjoint/nn"
	"github.com/adjoint-go/adjoint/optim"
)

func main() {
	epochs := flag.Int("epochs", 15, "passes over the training set")
	save := flag.String("save", "", "write the trained model's state_dict here (safetensors)")
	batchNorm := flag.Bool("batchnorm", false, "a BatchNorm2d after each convolution")
	separable := flag.Bool("separable", false, "the second convolution depthwise-separable (depthwise 3×3, then pointwise 1×1)")
	flag.Parse()

	dev, err := device.Open("auto") // CUDA when built with -tags cuda on a GPU host, else the CPU
	if err != nil {
		log.Fatal(err)
	}
	digits, err := data.Digits()
	if err != nil {
		log.Fatal(err)
	}
	train, test, err := data.Split(digits, 0.2, 42)
	if err != nil {
		log.Fatal(err)
	}
	std := data.FitStandardizer(train.X, train.Features)
	std.Apply(train.X)
	std.Apply(test.X)

	model, err := build(dev, rand.New(rand.NewPCG(1, 0)), *batchNorm, *separable)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model)
	opt, err := optim.NewAdam(model.Params(), optim.DefaultAdam())
	if err != nil {
		log.Fatal(err)
	}

	tp := autograd.NewTape(dev, device.Float32)
	batches := data.NewBatcher(train, 64, true, 1)
	for epoch := 1; epoch <= *epochs; epoch++ {
		for x, y, k, ok := batches.Next(); ok; x, y, k, ok = batches.Next() {
			images := tp.ConstantFloat32(x, k, 1, 8, 8) // a row of 64 pixels is one 8×8 image
			logits := model.Forward(tp, images)
			l := loss.SoftmaxCrossEntropyIndex(tp, logits, tp.ConstantFloat32(y, k), loss.Mean)
			if err := tp.Backward(l); err != nil {
				log.Fatal(err)
			}
			if err := opt.Step(); err != nil {
				log.Fatal(err)
			}
			opt.ZeroGrad()
			tp.Reset()
		}
		batches.Reset()
	}

	var acc float64
	nn.SetTraining(model, false) // torch's model.eval(): BatchNorm's running statistics
	tp.NoGrad(func() {
		logits := model.Forward(tp, tp.ConstantFloat32(test.X, test.Len(), 1, 8, 8))
		acc, err = loss.Accuracy(tp, logits, tp.ConstantFloat32(test.Y, test.Len()))
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.2f%% after %d epochs on %s\n", 100*acc, *epochs, dev.Name())
	if *save != "" {
		if err := nn.Save(*save, model, nil); err != nil {
			log.Fatal(err)
		}
	}
}

// build returns the network, its parameters drawn from rng, with a
// BatchNorm2d after each convolution when batchNorm is set and the second
// convolution depthwise-separable when separable is.
func build(dev device.Device, rng *rand.Rand, batchNorm, separable bool) (*nn.Sequential, error) {
	var layers []nn.Module
	for i, ch := range [][2]int{{1, 32}, {32, 64}} {
		if i == 1 && separable {
			depthwise, err := nn.NewConv2d(dev, ch[0], ch[0], [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}, Groups: ch[0]}, rng)
			if err != nil {
				return nil, err
			}
			pointwise, err := nn.NewConv2d(dev, ch[0], ch[1], [2]int{1, 1}, autograd.ConvOptions{}, rng)
			if err != nil {
				return nil, err
			}
			layers = append(layers, depthwise, pointwise)
		} else {
			conv, err := nn.NewConv2d(dev, ch[0], ch[1], [2]int{3, 3}, autograd.ConvOptions{Padding: [2]int{1, 1}}, rng)
			if err != nil {
				return nil, err
			}
			layers = append(layers, conv)
		}
		if batchNorm {
			bn, err := nn.NewBatchNorm2d(dev, ch[1])
			if err != nil {
				return nil, err
			}
			layers = append(layers, bn)
		}
		layers = append(layers, nn.ReLU())
		if i == 0 {
			layers = append(layers, &nn.MaxPool2d{Kernel: [2]int{2, 2}})
		}
	}
	fc, err := nn.NewLinear(dev, 64*4*4, 10, rng)
	if err != nil {
		return nil, err
	}
	return nn.NewSequential(append(layers, nn.Flatten{}, fc)...), nil
}
