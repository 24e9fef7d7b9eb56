package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestActionTests runs `actionsync test` on the example repo (every case
// passes: exit 0), on a repo whose case fails (exit 1, the case and why),
// and with no node on PATH (exit 1, saying so).
func TestActionTests(t *testing.T) {
	cache := "--cache-dir=" + filepath.Join(t.TempDir(), "npm")
	r := run(t, t.TempDir(), []string{"ENRICH_API_KEY=k1"}, "test", "--repo", exampleRepo(t), cache)
	if r.code != 0 || !strings.Contains(r.stdout, "19 cases: 19 passed, 0 failed, 0 errors") {
		t.Fatalf("example repo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "k1") {
		t.Error("a secret value was printed")
	}

	repo := exampleRepo(t)
	os.WriteFile(filepath.Join(repo, "actions/deny-blocked-ips/tests/wrong.yaml"), []byte(
		"- name: expects the wrong message\n  event: {request: {ip: 203.0.113.7}}\n  expect:\n    - api.access.deny: [\"nope\"]\n"), 0o644)
	r = run(t, t.TempDir(), nil, "test", "--repo", repo, "deny-blocked-ips", "--output", "json", cache)
	var report struct {
		Summary struct{ Failed int }
		Results []struct{ Name, Status, Reason, File string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 1 || report.Summary.Failed != 1 {
		t.Fatalf("a failing case: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	for _, res := range report.Results {
		if res.Name == "expects the wrong message" && (res.Status != "fail" || !strings.Contains(res.Reason, "nope") || res.File != "actions/deny-blocked-ips/tests/wrong.yaml") {
			t.Errorf("the failing case: %+v", res)
		}
	}

	r = run(t, t.TempDir(), []string{"PATH=" + t.TempDir()}, "test", "--repo", exampleRepo(t), "require-mfa-for-admins", cache)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "node") {
		t.Errorf("no node: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
