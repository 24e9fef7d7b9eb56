package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"
)

// TestTokenRotation: the token file is read on every use.
func TestTokenRotation(t *testing.T) {
	f := filepath.Join(t.TempDir(), "token")
	os.WriteFile(f, []byte("first\n"), 0o600)
	a := Auth{TokenFile: f}
	m, err := a.method("https://example.com/r.git")
	if err != nil || m.(*githttp.BasicAuth).Password != "first" || m.(*githttp.BasicAuth).Username != "x-access-token" {
		t.Fatalf("method = %+v, %v", m, err)
	}
	os.WriteFile(f, []byte("second"), 0o600)
	m, _ = a.method("https://example.com/r.git")
	if m.(*githttp.BasicAuth).Password != "second" {
		t.Errorf("a rotated token was not picked up")
	}
}

func TestSSHNeedsKnownHosts(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	if _, err := (Auth{SSHKeyFile: key}).method("ssh://git@example.com/r.git"); err == nil {
		t.Error("an SSH key without known hosts was accepted")
	}
	hosts := filepath.Join(dir, "known_hosts")
	os.WriteFile(hosts, []byte("example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"), 0o600)
	if _, err := (Auth{SSHKeyFile: key, KnownHostsFile: hosts}).method("ssh://git@example.com/r.git"); err != nil {
		t.Errorf("key and known hosts: %v", err)
	}
}
