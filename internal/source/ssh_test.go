package source_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/source"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshGitServer serves git-upload-pack over SSH on loopback to the one client
// key given, with a host key of its own; it returns its address and host key.
func sshGitServer(t *testing.T, client ssh.PublicKey) (string, ssh.PublicKey) {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(hostPriv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(client.Marshal()) {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(c, cfg)
		}
	}()
	return ln.Addr().String(), signer.PublicKey()
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range chReqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				n := binary.BigEndian.Uint32(req.Payload[:4])
				line := string(req.Payload[4 : 4+n])
				req.Reply(true, nil)
				// git-upload-pack '/path/to/repo.git'
				name, arg, _ := strings.Cut(line, " ")
				cmd := exec.Command(name, strings.Trim(arg, "'"))
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := 0
				if err := cmd.Run(); err != nil {
					status = 1
				}
				io.Copy(io.Discard, ch)
				ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(status)))
				return
			}
		}()
	}
}

// TestSSHKeyAndKnownHosts fetches over SSH with a private key file and a
// known_hosts file that pins the server; a server whose key is not the
// pinned one is refused.
func TestSSHKeyAndKnownHosts(t *testing.T) {
	fileURL, _ := repoWith(t, map[string]string{"triggers.yaml": "post-login: []\n"})
	bare := strings.TrimPrefix(fileURL, "file://")
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	keyFile := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	clientSigner, _ := ssh.NewSignerFromKey(priv)
	addr, hostKey := sshGitServer(t, clientSigner.PublicKey())

	url := "ssh://git@" + addr + bare
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)+"\n"), 0o600)
	r := &source.Remote{URL: url, Branch: "main", Auth: source.Auth{SSHKeyFile: keyFile, KnownHostsFile: known}, Dir: t.TempDir()}
	fsys, rev, err := r.Checkout(t.Context())
	if err != nil || len(rev) != 40 || fsys == nil {
		t.Fatalf("checkout over SSH: %v %q", err, rev)
	}

	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, other.PublicKey())+"\n"), 0o600)
	if _, err := r.Head(t.Context()); err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Errorf("a server with another host key: %v, want a key mismatch", err)
	}
}
