package safetensors

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SaveFile writes f to path atomically: it encodes f into a temporary file
// in the same directory, flushes it to stable storage (fsync), and renames
// it over path, then syncs the directory. Readers see either the old file
// or the complete new one. On any error the previous file at path, if any,
// is left untouched and the temporary file is removed.
//
// A new file gets permissions 0644; an existing file keeps its permissions.
func SaveFile(path string, f *File) (err error) {
	perm := fs.FileMode(0o644)
	if st, statErr := os.Stat(path); statErr == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: saving %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close() // may already be closed; the error is irrelevant then
			_ = os.Remove(tmpName)
			err = fmt.Errorf("safetensors: saving %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeHook(bw, f); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpName, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// writeHook is write (Write without the error prefix), replaceable by tests to inject failures.
var writeHook = write

// syncDir makes a rename in dir durable. Errors are ignored: some platforms
// and file systems cannot sync a directory, and the data itself is already
// synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// LoadFile reads and validates the safetensors file at path (see Read).
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return f, nil
}
