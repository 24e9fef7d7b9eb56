package manifest_test

import (
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/manifest"
)

// TestConfig: actionsync.yaml is optional, and names the owner when there.
func TestConfig(t *testing.T) {
	action := fstest.MapFS{
		"actions/a/action.yaml": {Data: []byte("trigger:\n  id: post-login\n")},
		"actions/a/index.js":    {Data: []byte("exports.x = 1;\n")},
	}
	for _, tc := range []struct {
		name   string
		config string // "" for no file
		want   string
	}{
		{"no file", "", ""},
		{"an owner", "owner: identity-team.v2\n", "identity-team.v2"},
		{"an empty file", "# nothing yet\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range action {
				fsys[k] = v
			}
			if tc.config != "" {
				fsys[manifest.ConfigFile] = &fstest.MapFile{Data: []byte(tc.config)}
			}
			r, err := manifest.Load(fsys, testOpts())
			if err != nil {
				t.Fatal(err)
			}
			if r.Config.Owner != tc.want {
				t.Errorf("owner = %q, want %q", r.Config.Owner, tc.want)
			}
		})
	}
}

func TestValidOwner(t *testing.T) {
	for name, ok := range map[string]bool{
		"actionsync": true, "team-a": true, "a_b.c-9": true,
		"": false, "Team": false, "a b": false, "a,b": false, "a:b": false, "a=b": false,
		"x234567890123456789012345678901234567890123456789012345678901234":  true,
		"x2345678901234567890123456789012345678901234567890123456789012345": false,
	} {
		if got := manifest.ValidOwner(name) == nil; got != ok {
			t.Errorf("ValidOwner(%q) ok = %v, want %v", name, got, ok)
		}
	}
}
