// Package nn holds layers and models built on the autograd tape: Linear,
// Conv2d, Conv1d, ConvTranspose2d and ConvTranspose1d (PyTorch's layouts
// and initialisation; Conv2d's padding modes), Pad2d, MaxPool2d,
// AvgPool2d, MaxPool1d, AvgPool1d,
// AdaptiveAvgPool2d,
// Embedding, LSTM and GRU, MultiheadAttention, TransformerEncoderLayer and
// TransformerDecoderLayer, LayerNorm,
// BatchNorm1d and BatchNorm2d, GroupNorm, Dropout, Flatten, activations as layers,
// Sequential, a Residual block
// (x + body(x), a DAG), and MLP, plus checkpoints in the safetensors
// format with PyTorch's state_dict names.
//
// Images are NCHW, as in torch: a batch of N images of C channels, H×W
// pixels, is one [N, C, H, W] tensor, and a Conv2d weight is [out, in,
// KH, KW]. Flatten turns [N, C, H, W] into [N, C·H·W] channel by channel,
// so Sequential(Conv2d, ReLU, …, Flatten, Linear) loads torch's
// state_dict of the same network unchanged:
//
//	x [N,1,8,8] ─Conv2d(1,8,3,pad 1)─▶ [N,8,8,8] ─ReLU─▶ ─Conv2d(8,16,3,stride 2,pad 1)─▶ [N,16,4,4]
//	            ─ReLU─▶ ─Flatten─▶ [N,256] ─Linear(256,10)─▶ [N,10]
//
// A Module computes Forward on a tape and lists its trainable parameters.
// NewLinear, NewLayerNorm, MLP and MLPLayerNorm make float32 parameters,
// the dtype every device computes in. NewLinearDType and NewLayerNormDType
// take the dtype: a float64 model on the cpu device (gradient checks) is
// built from them with device.Float64 and recorded on a float64 tape. From
// the same seed, a float64 Linear holds the values that the float32 one
// rounds. Parameters are persistent autograd Vars: they live across tapes,
// so one tape can be Reset after every training step while the model stays.
//
// A model whose forward pass takes more than one input (a two-tower net
// with its own Forward(tp, a, b)) cannot be a Module, but it is a
// Parameterized (it has Params, and NamedParams to name them): NamedParams,
// AllNamedParams, StateDict, LoadStateDict, Save, SaveWith, Load and
// Release take a Parameterized, and its Params go to an optimizer.
//
// Dropout (torch.nn.Dropout) and BatchNorm behave differently in training
// and evaluation: SetTraining(model, false) switches every Dropout inside
// a model to the identity and every BatchNorm to its running statistics,
// as torch's model.eval() does, and SetTraining(model, true) back.
// Dropout's masks are drawn on the device from Philox-4x32-10 under the
// layer's seed (autograd.Tape.Dropout).
//
// Buffers. BatchNorm's running mean and variance change in training but
// are not parameters: Params leaves them out, so no optimizer touches
// them, and NamedBuffers lists them (with num_batches_tracked, a count on
// the host) under torch's names, which StateDict, Save, Load and Release
// include. A model of its own that holds a BatchNorm implements Buffered
// (and Trainable) as Sequential does, or its checkpoints lose the running
// statistics:
//
//	state_dict of Sequential(Conv2d(1, 4, 3), BatchNorm2d(4), ReLU())
//	  0.weight [4 1 3 3]  0.bias [4]                         parameters (F32)
//	  1.weight [4]        1.bias [4]                         parameters (F32)
//	  1.running_mean [4]  1.running_var [4]                  buffers (F32)
//	  1.num_batches_tracked []                               buffer (I64 scalar)
//
// Names follow torch.nn: a Sequential names its children by index and an
// activation takes an index but owns no parameter, so
//
//	nn.NewSequential(linear(64→128), nn.ReLU(), linear(128→10))
//
// has the parameters 0.weight [128 64], 0.bias [128], 2.weight [10 128] and
// 2.bias [10], exactly like torch.nn.Sequential(nn.Linear(64, 128),
// nn.ReLU(), nn.Linear(128, 10)).state_dict(). A Residual names its body
// "body" and its shortcut, if any, "shortcut", like a torch module holding
// self.body and self.shortcut.
//
// Shared parameters. A layer used twice, or a Var held by two layers (tied
// weights), is one parameter: Params and NamedParams list it once, where it
// first appears, like torch's parameters() and named_parameters(), so that
// an optimizer updates it once per step (the optimizers reject a list that
// repeats a Var). A state_dict holds every name, as torch's does:
// nn.NewSequential(l, nn.Tanh(), l) has the 2 parameters 0.weight and
// 0.bias, and StateDict, Save and Load use the 4 names 0.weight, 0.bias,
// 2.weight and 2.bias (AllNamedParams), which torch's strict
// load_state_dict expects.
//
// Inside a Sequential, a Linear followed directly by ReLU, Sigmoid or Tanh is
// run as one fused op (autograd.Tape.Linear with that activation): one node
// on the tape, the bias and activation applied in the product's epilogue.
//
// Checkpoints. Save writes the parameters under their state_dict names,
// each in its own dtype (F32 for float32, F64 for float64, so a float64
// model saves and loads back bit for bit), with string metadata; Load
// checks every name, dtype and shape against the model before changing
// anything and names each problem. Load never converts: each tensor must
// have its parameter's dtype, F32 for a float32 model and F64 for a
// float64 one, and any other (F64 into a float32 model, F32 into a float64
// one, F16 or BF16 from torch's model.half()) is refused, naming the
// parameter and both dtypes; convert the checkpoint in torch first
// (model.float() or model.double()).
// Tensor names containing '/' are never module parameters (PyTorch does not
// produce them): SaveWith stores extra state under such names (optimizer
// moments, preprocessing) and Load ignores them.
package nn
