package live_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/sync"
)

// TestCatalogueRuntimes: the catalogue carries the runtimes each trigger
// version accepts, which go-auth0's ActionTrigger leaves out.
func TestCatalogueRuntimes(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	cat, err := reader(srv).Catalogue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat {
		if c.ID == "post-login" && c.Version == "v3" {
			if !slices.Contains(c.Runtimes, "node22") || slices.Contains(c.Runtimes, "node12") {
				t.Errorf("post-login v3 runtimes = %v, want node22 and not node12", c.Runtimes)
			}
			return
		}
	}
	t.Errorf("no post-login v3 in %v", cat)
}

// mapSource is a commit held in memory.
type mapSource fstest.MapFS

func (m mapSource) Checkout(context.Context) (fs.FS, string, error) {
	return fstest.MapFS(m), "c1", nil
}

// TestCatalogueRefusesBeforeAnyWrite: a runtime the trigger version
// refuses, or a trigger the tenant does not offer, is an error with its
// file and line from the engine's plan, before any write and before the
// bindings of that trigger are read.
func TestCatalogueRefusesBeforeAnyWrite(t *testing.T) {
	for _, tc := range []struct {
		name         string
		action, trig string
		want         string
	}{
		{"runtime", "runtime: node12\ntrigger:\n  id: post-login\n  version: v3\n", "post-login:\n  - a\n",
			"actions/a/action.yaml:1: runtime node12 is not offered for post-login v3 (offered: [node18 node22])"},
		{"action's trigger", "trigger:\n  id: post-logon\n", "",
			"actions/a/action.yaml:2: trigger post-logon (current) is not offered by the tenant"},
		{"managed trigger", "trigger:\n  id: post-login\n", "post-login: [a]\npost-logon: []\n",
			"triggers.yaml:2: trigger post-logon is not offered by the tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
			repo := mapSource{
				"actions/a/action.yaml": {Data: []byte(tc.action)},
				"actions/a/index.js":    {Data: []byte(code)},
				"triggers.yaml":         {Data: []byte(tc.trig)},
			}
			eng := sync.NewWith(live.NewClient(srv.API), repo, sync.Options{})
			_, err := eng.Plan(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("plan: %v\nwant %q", err, tc.want)
			}
			if w := tenanttest.Writes(srv.Requests()); len(w) != 0 {
				t.Errorf("%d writes before refusing", len(w))
			}
			for _, r := range srv.Requests() {
				if strings.HasSuffix(r.Path, "/bindings") {
					t.Errorf("read %s before refusing", r.Path)
				}
			}
		})
	}
}
