package localtenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// load reads the state file, if one is configured and exists.
func (t *Tenant) load() error {
	if t.opts.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(t.opts.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load tenant state: %w", err)
	}
	st := &state{}
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("load tenant state %s: %w", t.opts.StatePath, err)
	}
	if st.Bindings == nil {
		st.Bindings = map[string][]*binding{}
	}
	if st.Executions == nil {
		st.Executions = map[string]*execution{}
	}
	t.st = st
	return nil
}

// save writes the state file atomically: a temporary file in the same
// directory, synced, then renamed over the old one. Callers hold t.mu.
func (t *Tenant) save() error {
	if t.opts.StatePath == "" {
		return nil
	}
	b, err := json.MarshalIndent(t.st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(t.opts.StatePath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save tenant state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".local-tenant-*.json")
	if err != nil {
		return fmt.Errorf("save tenant state: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save tenant state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save tenant state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save tenant state: %w", err)
	}
	if err := os.Rename(f.Name(), t.opts.StatePath); err != nil {
		return fmt.Errorf("save tenant state: %w", err)
	}
	return nil
}
