package safetensors

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	a := &File{
		Tensors:  map[string]Tensor{"w": FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4})},
		Metadata: map[string]string{"step": "1"},
	}
	require.NoError(t, SaveFile(path, a))
	wantBytes := encode(t, a)
	gotBytes, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, wantBytes, gotBytes)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	g, err := LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, a.Metadata, g.Metadata)
	w, err := g.Tensors["w"].Float32()
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4}, w)
	assert.Equal(t, []string{"model.safetensors"}, dirNames(t, dir))

	// Overwrite keeps the existing permissions.
	require.NoError(t, os.Chmod(path, 0o600))
	b := &File{Tensors: map[string]Tensor{"w": FromFloat32([]int{1}, []float32{9})}}
	require.NoError(t, SaveFile(path, b))
	st, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	g, err = LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0x10, 0x41}, g.Tensors["w"].Data)
	assert.Equal(t, []string{"model.safetensors"}, dirNames(t, dir))

	t.Run("relative path", func(t *testing.T) {
		t.Chdir(t.TempDir())
		require.NoError(t, SaveFile("rel.safetensors", a))
		_, err := LoadFile("rel.safetensors")
		require.NoError(t, err)
	})
}

func TestSaveFileFailureLeavesOldFile(t *testing.T) {
	a := &File{Tensors: map[string]Tensor{"w": FromFloat32([]int{3}, []float32{1, 2, 3})}}
	setup := func(t *testing.T) (dir, path string, before []byte) {
		dir = t.TempDir()
		path = filepath.Join(dir, "ckpt.safetensors")
		require.NoError(t, SaveFile(path, a))
		before, err := os.ReadFile(path)
		require.NoError(t, err)
		return dir, path, before
	}
	intact := func(t *testing.T, dir, path string, before []byte) {
		t.Helper()
		after, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, before, after, "old file untouched")
		assert.Equal(t, []string{"ckpt.safetensors"}, dirNames(t, dir), "no temporary file left")
	}

	t.Run("invalid file", func(t *testing.T) {
		dir, path, before := setup(t)
		bad := &File{Tensors: map[string]Tensor{"w": {DType: "F32", Shape: []int{2}, Data: []byte{1}}}}
		err := SaveFile(path, bad)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "safetensors: saving "+path+`: tensor "w": has 1 data bytes, want 8`)
		intact(t, dir, path, before)
	})
	t.Run("writer fails midway", func(t *testing.T) {
		dir, path, before := setup(t)
		boom := errors.New("disk full")
		old := writeHook
		t.Cleanup(func() { writeHook = old })
		writeHook = func(w io.Writer, f *File) error {
			_, _ = w.Write([]byte("partial garbage"))
			return boom
		}
		big := &File{Tensors: map[string]Tensor{"w": FromFloat32([]int{1 << 20}, make([]float32, 1<<20))}}
		err := SaveFile(path, big)
		assert.ErrorIs(t, err, boom)
		intact(t, dir, path, before)
	})
	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "ckpt.safetensors")
		require.NoError(t, os.Mkdir(path, 0o755)) // a directory cannot be replaced by a file
		require.NoError(t, os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o644))
		err := SaveFile(path, a)
		require.Error(t, err)
		assert.Equal(t, []string{"ckpt.safetensors"}, dirNames(t, dir), "no temporary file left")
		assert.Equal(t, []string{"keep"}, dirNames(t, path))
	})
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope", "ckpt.safetensors")
		err := SaveFile(path, a)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir, path, before := setup(t)
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		err := SaveFile(path, &File{})
		assert.ErrorIs(t, err, os.ErrPermission)
		intact(t, dir, path, before)
	})
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(dir, "missing.safetensors")
		_, err := LoadFile(path)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("corrupt", func(t *testing.T) {
		path := filepath.Join(dir, "bad.safetensors")
		require.NoError(t, os.WriteFile(path, raw(`{"a":`), 0o644))
		_, err := LoadFile(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "safetensors: "+path+`: tensor "a": invalid JSON`)
	})
}
