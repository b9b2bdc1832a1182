//go:build cuda

package cuda

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/adjoint-go/adjoint/device"
)

// TestDriverInit checks both answers of the driver's cuInit (cuinit.c).
// That the test runs at all is half of it: gorgonia.org/cu's package init
// used to end the process when cuInit failed. When initialisation failed
// (no GPU, as on CI with the toolkit's libcuda, or FAKECUDA_DEVICES=0 on
// the stand-in driver), opening a device must be an ordinary error that
// wraps device.ErrUnavailable and names the driver's error; when it
// succeeded, Open must work.
func TestDriverInit(t *testing.T) {
	initErr := initError()
	if initErr == nil {
		d, err := device.Open("cuda")
		require.NoError(t, err, "cuInit succeeded, so device.Open must")
		require.NoError(t, d.(*Device).Close())
		return
	}
	t.Logf("initError: %v", initErr)
	assert.Contains(t, initErr.Error(), "cuInit returned CUDA_ERROR_")
	for _, open := range []func() error{
		func() error { _, err := Open(0); return err },
		func() error { _, err := device.Open("cuda"); return err },
	} {
		err := open()
		require.Error(t, err)
		assert.True(t, errors.Is(err, device.ErrUnavailable), "%v does not wrap device.ErrUnavailable", err)
		assert.Contains(t, err.Error(), "cuInit returned")
	}
}
