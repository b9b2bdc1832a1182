//go:build cudaemu && !cuda

package cuda

// trainingSteps is how many steps TestTrainingStepMatchesCPU compares under
// the emulator: fewer than on a GPU, since every emulated launch runs each
// CUDA thread on a host thread, meeting at host barriers.
const trainingSteps = 12
