//go:build cuda

package cuda

// trainingSteps is how many steps TestTrainingStepMatchesCPU compares.
const trainingSteps = 60
