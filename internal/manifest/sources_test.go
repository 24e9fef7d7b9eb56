package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOpenedSecretFileIsChecked: the default from_file reader checks the
// file it opened, not only the path checkFileSource saw, so a link swapped
// between the check and the read, a /proc magic link to a pipe, and a hard
// link to a credential file are refused; an ordinary file is read.
func TestOpenedSecretFileIsChecked(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "fingerprint-key")
	os.WriteFile(key, []byte("key"), 0o600)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("value\n"), 0o600)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	w.WriteString("from a pipe\n")
	links := map[string]string{
		"swapped": "/proc/self/environ", // as a link is after the path was checked
		"magic":   "/proc/self/fd/" + strconv.Itoa(int(r.Fd())),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	hard := filepath.Join(dir, "hard")
	if err := os.Link(key, hard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"swapped", "is under /proc"},
		{"magic", "is not a regular file"},
		{"hard", "is " + key + ", actionsync's own credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSecretFile(filepath.Join(dir, tc.name), []string{key})
			if !errors.Is(err, ErrPrivateSource) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrPrivateSource saying %q", err, tc.want)
			}
		})
	}
	if b, err := readSecretFile(plain, []string{key}); err != nil || string(b) != "value\n" {
		t.Errorf("an ordinary file: %q %v", b, err)
	}
}
