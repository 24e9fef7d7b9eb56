package main_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEachLimitRefused: a repo over one of Auth0's documented limits is
// exit 1 from `--once`, naming the file and the limit, with zero writes to
// the tenant: one case per limit.
func TestEachLimitRefused(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	enrich := "actions/enrich-profile/action.yaml"
	head := "runtime: node22\ntrigger:\n  id: post-login\n  version: v3\n"
	list := func(n int, item func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(item(i))
		}
		return b.String()
	}
	many := map[string]string{}
	for i := range 20 {
		name := fmt.Sprintf("extra-%02d", i)
		many["actions/"+name+"/action.yaml"] = head
		many["actions/"+name+"/index.js"] = "exports.onExecutePostLogin = async () => {};\n"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		env   []string
		want  string
	}{
		{"code over 100 kB", map[string]string{"actions/enrich-profile/index.js": "// " + strings.Repeat("x", 102_400) + "\n"},
			nil, "actions/enrich-profile/index.js: larger than 102,400 bytes: Auth0 allows at most 102,400 bytes of code per action"},
		{"11 dependencies", map[string]string{enrich: head + "dependencies:\n" + list(11, func(i int) string { return fmt.Sprintf("  - {name: p%d, version: 1.0.0}\n", i) })},
			nil, enrich + ":6: dependencies: 11 listed; Auth0 allows at most 10 npm dependencies per action"},
		{"31 secrets", map[string]string{enrich: head + "secrets:\n" + list(31, func(i int) string { return fmt.Sprintf("  - {name: S%d, from_env: ENRICH_API_KEY}\n", i) })},
			nil, enrich + ":6: secrets: 31 listed; Auth0 allows at most 30 secrets per action"},
		{"a secret name of 129 characters", map[string]string{enrich: head + "secrets:\n  - name: " + strings.Repeat("N", 129) + "\n    from_env: ENRICH_API_KEY\n"},
			nil, enrich + ":6: secrets[0]: secret name of 129 characters: Auth0 allows at most 128"},
		{"a secret value of 4,097 bytes", map[string]string{enrich: head + "secrets:\n  - name: API_KEY\n    from_env: LONG_VALUE\n"},
			[]string{"LONG_VALUE=" + strings.Repeat("v", 4097)}, enrich + ":6: secrets[0]: secret API_KEY: the value in $LONG_VALUE is 4,097 bytes; Auth0 allows at most 4,096"},
		{"21 bindings on a trigger", addFiles(many, map[string]string{"triggers.yaml": "post-login:\n  - deny-blocked-ips\n" + list(20, func(i int) string { return fmt.Sprintf("  - extra-%02d\n", i) })}),
			nil, "triggers.yaml:1: post-login: 21 actions bound; Auth0 runs at most 20 actions per trigger"},
		{"more actions than the tenant allows (--max-actions 3)", nil,
			[]string{"ACTIONSYNC_MAX_ACTIONS=3"}, "the plan leaves 4 actions in the tenant (0 now, 4 to create, 0 to delete), over the limit of 3 actions per tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := exampleRepo(t)
			for name, content := range tc.files {
				os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755)
				if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lt.ResetRequests()
			r := run(t, t.TempDir(), append(slices.Clone(env), tc.env...), "--once", "--repo", repo)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r.stderr)
			}
			if n := writeCount(lt); n != 0 {
				t.Errorf("%d writes", n)
			}
		})
	}
}

func addFiles(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
