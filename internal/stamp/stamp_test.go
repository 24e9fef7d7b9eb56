package stamp_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// TestRoundTrip: what Code writes, Split reads back: the body as committed
// (ending in a newline) and the stamp, whatever the code and secrets.
func TestRoundTrip(t *testing.T) {
	key := []byte("k")
	for _, tc := range []struct {
		name     string
		code     string
		secrets  []manifest.Secret
		wantBody string
	}{
		{"no secrets", "exports.x = 1;\n", nil, "exports.x = 1;\n"},
		{"secrets", "exports.x = 1;\n", []manifest.Secret{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}, "exports.x = 1;\n"},
		{"no final newline", "exports.x = 1;", []manifest.Secret{{Name: "A", Value: "1"}}, "exports.x = 1;\n"},
		{"empty code", "", nil, ""},
		{"a line that looks like a stamp but is not last", "// actionsync owner=x\nexports.x = 1;\n", nil, "// actionsync owner=x\nexports.x = 1;\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &manifest.Action{Code: tc.code, Secrets: tc.secrets}
			want := stamp.For(a, "identity", "3f2c1a", key)
			code := want.Code(tc.code)
			body, got, ok := stamp.Split(code)
			if !ok || body != tc.wantBody {
				t.Errorf("Split = %q, ok %v; want body %q", body, ok, tc.wantBody)
			}
			if got.Owner != "identity" || got.Commit != "3f2c1a" || !maps.Equal(got.Secrets, want.Secrets) || len(got.Secrets) != len(tc.secrets) {
				t.Errorf("stamp = %+v, want %+v", got, want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(code, s.Name+":"+s.Value+",") || strings.HasSuffix(code, s.Name+":"+s.Value+"\n") {
					t.Errorf("the value of %s is in the code", s.Name)
				}
			}
		})
	}
}

// TestLegacyLine: a line written before owners existed reads as the
// default owner's, with its fingerprints.
func TestLegacyLine(t *testing.T) {
	body, s, ok := stamp.Split("exports.x = 1;\n// actionsync:secrets API_KEY=4f1c2a9b0d3e5f61,B=0011223344556677\n")
	want := map[string]string{"API_KEY": "4f1c2a9b0d3e5f61", "B": "0011223344556677"}
	if !ok || body != "exports.x = 1;\n" || s.Owner != stamp.DefaultOwner || !maps.Equal(s.Secrets, want) {
		t.Errorf("Split = %q, %+v, %v", body, s, ok)
	}
}

// TestUnstamped: code without a line has no stamp, and its body is the code.
func TestUnstamped(t *testing.T) {
	for _, code := range []string{"exports.x = 1;\n", "exports.x = 1; // actionsync owner=x\n", "// actionsync nothing=here\n"} {
		body, s, ok := stamp.Split(code)
		if ok || body != code || s.Owner != "" {
			t.Errorf("Split(%q) = %q, %+v, %v; want the code, unstamped", code, body, s, ok)
		}
	}
}

// TestFingerprintIsKeyed: the same value under another key or another name
// gives another fingerprint, so the line tells nothing without the key.
func TestFingerprintIsKeyed(t *testing.T) {
	a := stamp.Fingerprint([]byte("k1"), "API_KEY", "v")
	for name, other := range map[string]string{
		"another key":   stamp.Fingerprint([]byte("k2"), "API_KEY", "v"),
		"another name":  stamp.Fingerprint([]byte("k1"), "OTHER", "v"),
		"another value": stamp.Fingerprint([]byte("k1"), "API_KEY", "w"),
	} {
		if other == a {
			t.Errorf("%s gives the same fingerprint", name)
		}
	}
	if len(a) != 16 {
		t.Errorf("fingerprint %q: want 16 hex digits", a)
	}
}

// TestModuleStamp: a module's code carries the same line as an action's,
// with its own secrets' fingerprints; a module whose draft lost the line
// (edited in the dashboard) is still the owner's of its newest stamped
// version.
func TestModuleStamp(t *testing.T) {
	key := []byte("k")
	m := &manifest.Module{Code: "exports.x = 1;\n", Secrets: []manifest.Secret{{Name: "TOKEN", Value: "t"}}}
	s := stamp.ForModule(m, "identity", "3f2c1a", key)
	code := s.Code(m.Code)
	if s.Secrets["TOKEN"] != stamp.Fingerprint(key, "TOKEN", "t") || !strings.HasSuffix(code, "// actionsync owner=identity commit=3f2c1a secrets=TOKEN:"+s.Secrets["TOKEN"]+"\n") {
		t.Errorf("code:\n%s", code)
	}
	live := &tenant.Module{Code: "exports.x = 2; // edited\n", Versions: []tenant.ModuleVersion{
		{Number: 3, Code: "exports.x = 3;\n"},
		{Number: 2, Code: stamp.ForModule(m, "identity", "c2", key).Code(m.Code)},
		{Number: 1, Code: stamp.ForModule(m, "other", "c1", key).Code(m.Code)},
	}}
	if got, ok := stamp.OfModule(live); !ok || got.Owner != "identity" || got.Commit != "c2" {
		t.Errorf("OfModule = %+v %v, want version 2's", got, ok)
	}
	if _, ok := stamp.OfModule(&tenant.Module{Code: "exports.x = 1;\n"}); ok {
		t.Error("an unstamped module has an owner")
	}
}
