// Package fileutil writes files that survive a crash whole or not at all.
package fileutil

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// WriteAtomic replaces path with data so that after a crash the file holds
// either the old or the new content: a temporary file in the same
// directory with the final mode, fsync, rename over the target, fsync of
// the directory so that the rename itself is durable.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	_, err := WriteAtomicStat(path, data, mode)
	return err
}

// WriteAtomicStat is WriteAtomic that also returns the written file's
// FileInfo, taken from the temporary file before the rename (which keeps its
// inode, size and modification time): a caller that compares it with a later
// os.Stat of path learns whether anyone replaced the file since, without the
// race of a Stat after the rename.
func WriteAtomicStat(path string, data []byte, mode os.FileMode) (fi os.FileInfo, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		f.Close()
		return nil, err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if err = f.Close(); err != nil {
		return nil, err
	}
	if err = os.Rename(tmp, path); err != nil {
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return nil, err
	}
	return fi, nil
}

// WriteJSON writes v, indented, to path with WriteAtomic at mode 0600,
// making its directory (0700) first: the configuration and key files of
// terminals, stations and the demo, which hold secrets.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return WriteAtomic(path, b, 0o600)
}

// ReadJSON reads one JSON file into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadJSONDir reads every *.json file of dir into a T, in file-name order;
// a missing dir has none.
func ReadJSONDir[T any](dir string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []T
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}
