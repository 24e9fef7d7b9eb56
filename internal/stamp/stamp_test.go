package stamp_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
)

func TestCode(t *testing.T) {
	key := []byte("k")
	for _, tc := range []struct {
		name     string
		code     string
		secrets  []manifest.Secret
		wantBody string
	}{
		{"no secrets, no line", "exports.x = 1;\n", nil, "exports.x = 1;\n"},
		{"a line after a final newline", "exports.x = 1;\n", []manifest.Secret{{Name: "A", Value: "1"}}, "exports.x = 1;\n"},
		{"a newline added first", "exports.x = 1;", []manifest.Secret{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}, "exports.x = 1;\n"},
		{"empty code", "", []manifest.Secret{{Name: "A", Value: "1"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := stamp.Code(&manifest.Action{Code: tc.code, Secrets: tc.secrets}, key)
			if got := stamp.Body(code); got != tc.wantBody {
				t.Errorf("Body = %q, want %q", got, tc.wantBody)
			}
			want := map[string]string{}
			for _, s := range tc.secrets {
				want[s.Name] = stamp.Fingerprint(key, s.Name, s.Value)
			}
			if got := stamp.Fingerprints(code); !maps.Equal(got, want) {
				t.Errorf("Fingerprints = %v, want %v", got, want)
			}
			if (stamp.Line(code) != "") != (len(tc.secrets) > 0) {
				t.Errorf("Line = %q with %d secrets", stamp.Line(code), len(tc.secrets))
			}
			for _, s := range tc.secrets {
				if strings.Contains(code, "="+s.Value+",") || strings.HasSuffix(code, "="+s.Value+"\n") {
					t.Errorf("the value of %s is in the code", s.Name)
				}
			}
		})
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

// TestBodyKeepsLookalikes: a comment that only resembles the line, or the
// line anywhere but last, is code.
func TestBodyKeepsLookalikes(t *testing.T) {
	for _, code := range []string{
		"// actionsync:secrets A=1\nexports.x = 1;\n",
		"exports.x = 1; // actionsync:secrets A=1\n",
	} {
		if got := stamp.Body(code); got != code {
			t.Errorf("Body(%q) = %q, want it unchanged", code, got)
		}
	}
}
