// Package optim holds optimizers with PyTorch's update rules (SGD with
// momentum, dampening, Nesterov and weight decay; Adam; AdamW; RMSprop,
// centered or not, with momentum), learning-rate
// schedules in PyTorch's closed forms (StepLR, CosineAnnealingLR), and
// gradient clipping by global norm (ClipGradNorm).
//
// An optimizer updates a fixed list of parameters (autograd Vars), each
// listed once (a repeat is an error: it would be updated twice), in place
// on their device, one fused device call per parameter tensor
// (device.Device.SGD, Adam and RMSprop); only scalars cross to the host. Parameters
// without a gradient are skipped, as in PyTorch. Where the device also has
// a multi-tensor update (SGDTensors, AdamTensors: the cuda device, where it
// is one kernel launch for the whole step, like PyTorch's fused and foreach
// optimizers), a step is one call for all parameters with a gradient as
// long as they share one configuration (the same Adam step count; for SGD
// all first steps or none), with the same results bit for bit.
//
// State (momentum buffers, Adam's moments and per-parameter step counts) is
// exported by State and restored by LoadState, so a run that saves and
// resumes continues exactly as an uninterrupted one, for float32 and
// float64 parameters alike: the buffers are held on the host as float64,
// which holds either dtype without loss. They are keyed by parameter index
// and PyTorch's names: momentum_buffer, exp_avg, exp_avg_sq (and RMSprop's
// square_avg and grad_avg).
package optim
