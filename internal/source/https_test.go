package source_test

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/actionsync/actionsync/internal/source"
)

// gitHTTPServer serves the bare repositories under root over Git's smart
// HTTP protocol (git http-backend as CGI), requiring Basic auth with the
// token in tokenFile, as GitHub does for x-access-token.
func gitHTTPServer(t *testing.T, root string, token func() string) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "x-access-token" || pass != token() {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestHTTPSTokenAuth fetches over smart HTTP with a token read from a file;
// a wrong token is an error (never an empty tree), and a rotated file is
// picked up on the next check without a restart.
func TestHTTPSTokenAuth(t *testing.T) {
	fileURL, _ := repoWith(t, map[string]string{"triggers.yaml": "post-login: []\n"})
	bare := strings.TrimPrefix(fileURL, "file://")
	var valid atomic.Value
	valid.Store("tok-1")
	base := gitHTTPServer(t, filepath.Dir(bare), func() string { return valid.Load().(string) })
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok-1\n"), 0o600)
	r := &source.Remote{URL: base + "/" + filepath.Base(bare), Branch: "main", Auth: source.Auth{TokenFile: tokenFile}, Dir: t.TempDir()}
	if _, rev, err := r.Checkout(t.Context()); err != nil || len(rev) != 40 {
		t.Fatalf("checkout with the token: %v %q", err, rev)
	}
	valid.Store("tok-2") // the server rotates the token...
	if fsys, _, err := r.Checkout(t.Context()); err == nil || fsys != nil {
		t.Fatalf("checkout with a stale token: %v, want an error and no tree", err)
	}
	os.WriteFile(tokenFile, []byte("tok-2"), 0o600) // ...and so does the mounted secret
	if _, err := r.Head(t.Context()); err != nil {
		t.Errorf("after rotating the file: %v", err)
	}
}
