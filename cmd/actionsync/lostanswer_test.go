package main_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/transport"
)

// TestLostDeployAnswer: the tenant deploys an action's draft, and the
// answer is lost on the way back (the connection drops after the work is
// done). `--once` reads the action before deploying again, finds the draft
// deployed, and goes on: the action has one version, not two of the same
// content, and the run exits 0.
func TestLostDeployAnswer(t *testing.T) {
	var lost atomic.Bool
	lt, url, env := serveTenant(t, localtenant.Options{BuildDelay: 50 * time.Millisecond, Node: "-"}, func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || !draftDeploy(r.URL.Path) || !lost.CompareAndSwap(false, true) {
			return false
		}
		lt.ServeHTTP(httptest.NewRecorder(), r) // done, and its answer dropped
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return true
	})
	repo := ownerRepo(t, "team-a", "a1")
	r := run(t, t.TempDir(), env, "--once", "--repo", repo)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	reqs := lt.Requests()
	var writes []string
	for _, w := range tenanttest.Writes(reqs) {
		writes = append(writes, transport.Route(w.Method, w.Path))
	}
	want := []string{"POST /api/v2/actions/actions", "POST /api/v2/actions/actions/{id}/deploy", "PATCH /api/v2/actions/triggers/post-login/bindings"}
	if !slices.Equal(writes, want) {
		t.Errorf("writes = %q, want %q", writes, want)
	}
	// After the lost deploy, one read of the action, and no deploy again.
	i := slices.IndexFunc(reqs, func(q localtenant.Request) bool { return draftDeploy(q.Path) })
	if i < 0 || i+1 >= len(reqs) || transport.Route(reqs[i+1].Method, reqs[i+1].Path) != "GET /api/v2/actions/actions/{id}" {
		t.Errorf("the request after the lost deploy is not a read of the action: %v", reqs[i:])
	}
	id := strings.Split(strings.TrimPrefix(reqs[i].Path, "/api/v2/actions/actions/"), "/")[0]
	var vl struct {
		Versions []struct {
			Number   int  `json:"number"`
			Deployed bool `json:"deployed"`
		} `json:"versions"`
	}
	getJSON(t, url+"/api/v2/actions/actions/"+id+"/versions", &vl)
	if len(vl.Versions) != 1 || !vl.Versions[0].Deployed {
		t.Errorf("versions = %+v, want one, deployed", vl.Versions)
	}
}

// draftDeploy matches /api/v2/actions/actions/{id}/deploy.
func draftDeploy(path string) bool {
	id, ok := strings.CutSuffix(strings.TrimPrefix(path, "/api/v2/actions/actions/"), "/deploy")
	return ok && strings.HasPrefix(path, "/api/v2/actions/actions/") && !strings.Contains(id, "/")
}
