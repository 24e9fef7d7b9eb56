package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	gosync "sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Auth says how to authenticate to a remote. Credentials are read from their
// files on every use, so a rotated token or key is picked up without a
// restart.
type Auth struct {
	// TokenFile holds an HTTPS token (GitHub, GitLab, ...).
	TokenFile string
	// Username goes with the token; default "x-access-token".
	Username string
	// SSHKeyFile holds a private key for SSH URLs.
	SSHKeyFile string
	// KnownHostsFile pins the SSH server's host key; required with SSH.
	KnownHostsFile string
}

func (a Auth) method(url string) (transport.AuthMethod, error) {
	switch {
	case a.SSHKeyFile != "":
		keys, err := gitssh.NewPublicKeysFromFile("git", a.SSHKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("read SSH key %s: %w", a.SSHKeyFile, err)
		}
		if a.KnownHostsFile == "" {
			return nil, errors.New("an SSH key needs a known_hosts file")
		}
		cb, err := gitssh.NewKnownHostsCallback(a.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("read known hosts %s: %w", a.KnownHostsFile, err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("read token: %w", err)
		}
		user := a.Username
		if user == "" {
			user = "x-access-token"
		}
		return &githttp.BasicAuth{Username: user, Password: strings.TrimSpace(string(b))}, nil
	}
	return nil, nil
}

// Remote is a branch of a Git repository reached by URL. Head asks the
// remote where the branch is (one small request); Checkout fetches that
// exact commit, shallowly, only when it moved.
//
// A fetched commit is kept on disk, in a directory of its own under Dir,
// not in memory: files are read from it when the loader opens them, and a
// large file nobody opens is never read. Fetching a new commit removes the
// previous one's directory; Close removes the last.
type Remote struct {
	URL    string
	Branch string
	Sub    string
	Auth   Auth
	// Dir is where fetched commits are kept; "" means os.TempDir() ($TMPDIR).
	Dir string

	mu   gosync.Mutex
	rev  string // the commit last fetched
	tree fs.FS
	dir  string // where it is kept
}

// Tunables of the on-disk object store: objects larger than
// largeObject are streamed from the pack, never held whole in memory, and
// the cache of decoded objects is small (trees and small files).
const (
	largeObject = 1 << 20
	objectCache = 8 * cache.MiByte
)

// Head returns the commit the branch points at on the remote.
func (r *Remote) Head(ctx context.Context) (string, error) {
	branches, err := r.Branches(ctx)
	if err != nil {
		return "", err
	}
	if h, ok := branches[r.branch()]; ok {
		return h, nil
	}
	return "", fmt.Errorf("list %s: no branch %s", r.URL, r.branch())
}

// Branches returns every branch of the remote with its commit, from one
// listing of its refs: the environments of one repo share it.
func (r *Remote) Branches(ctx context.Context) (map[string]string, error) {
	auth, err := r.Auth.method(r.URL)
	if err != nil {
		return nil, err
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.URL, err)
	}
	out := map[string]string{}
	for _, ref := range refs {
		if ref.Name().IsBranch() {
			out[ref.Name().Short()] = ref.Hash().String()
		}
	}
	return out, nil
}

func (r *Remote) branch() string {
	if r.Branch == "" {
		return "main"
	}
	return r.Branch
}

// Checkout returns the tree of the branch's commit, fetching it at depth 1
// when the branch moved since the last fetch. Any failure is an error: it
// never becomes an empty tree.
func (r *Remote) Checkout(ctx context.Context) (fs.FS, string, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if head == r.rev && r.tree != nil {
		return r.tree, r.rev, nil
	}
	dir, err := os.MkdirTemp(r.Dir, "actionsync-git-")
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", r.URL, err)
	}
	tree, rev, err := r.fetch(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	r.drop()
	r.rev, r.tree, r.dir = rev, tree, dir
	return tree, r.rev, nil
}

// fetch fetches the branch's commit at depth 1 into dir and returns its
// tree.
func (r *Remote) fetch(ctx context.Context, dir string) (fs.FS, string, error) {
	auth, err := r.Auth.method(r.URL)
	if err != nil {
		return nil, "", err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(objectCache),
		filesystem.Options{ExclusiveAccess: true, LargeObjectThreshold: largeObject})
	head, err := fetchCommit(ctx, r.URL, r.branch(), auth, st)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s %s: %w", r.URL, r.branch(), err)
	}
	c, err := object.GetCommit(st, head)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: commit %s: %w", r.URL, head, err)
	}
	tree, err := TreeFS(c, r.Sub)
	return tree, head.String(), err
}

// drop removes the directory of the commit last fetched.
func (r *Remote) drop() {
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
	r.rev, r.tree, r.dir = "", nil, ""
}

// Close removes the commit kept on disk; a later Checkout fetches again.
func (r *Remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop()
	return nil
}
