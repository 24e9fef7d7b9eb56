package sync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// exampleFiles is examples/repo, the repo the README syncs.
func exampleFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := os.DirFS("../../examples/repo")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		files[p] = string(b)
		return err
	})
	if err != nil || len(files) < 5 {
		t.Fatalf("read examples/repo: %v (%d files)", err, len(files))
	}
	return files
}

const (
	createCall   = "POST /api/v2/actions/actions"
	deployCall   = "POST /api/v2/actions/actions/{id}/deploy"
	updateCall   = "PATCH /api/v2/actions/actions/{id}"
	rollbackCall = "POST /api/v2/actions/actions/{id}/versions/{id}/deploy"
	deleteCall   = "DELETE /api/v2/actions/actions/{id}"
	bindLogin    = "PATCH /api/v2/actions/triggers/post-login/bindings"
	bindM2M      = "PATCH /api/v2/actions/triggers/credentials-exchange/bindings"

	moduleCreateCall   = "POST /api/v2/actions/modules"
	moduleUpdateCall   = "PATCH /api/v2/actions/modules/{id}"
	publishCall        = "POST /api/v2/actions/modules/{id}/versions"
	moduleRollbackCall = "POST /api/v2/actions/modules/{id}/rollback"
	moduleDeleteCall   = "DELETE /api/v2/actions/modules/{id}"
)

// synced is a fixture whose tenant already matches the example repo.
func synced(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	return f
}

func assertCalls(t *testing.T, got, want []string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("write calls:\n got %q\nwant %q", got, want)
	}
}

func TestFirstSync(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The module is created published (one call), before the two actions
	// that use it are created pinning its version 1.
	assertCalls(t, calls, concat(repeat(createCall, 4), repeat(deployCall, 4), []string{bindLogin, bindM2M, moduleCreateCall}))
	bl, _ := f.api.Action.Bindings(t.Context(), "post-login")
	var order []string
	for _, b := range bl.Bindings {
		order = append(order, b.GetAction().GetName()+"/"+b.GetDisplayName())
	}
	if want := []string{"deny-blocked-ips/deny-blocked-ips", "enrich-profile/Enrich profile", "require-mfa-for-admins/require-mfa-for-admins"}; !slices.Equal(order, want) {
		t.Errorf("post-login order = %v, want %v", order, want)
	}
	if len(res.Applied) != 7 {
		t.Errorf("applied %d steps, want 7", len(res.Applied))
	}
}

func TestSteadyState(t *testing.T) {
	f := synced(t)
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil || !res.Plan.Empty() {
		t.Fatalf("second sync: %v, plan %+v", err, res.Plan.Steps)
	}
	assertCalls(t, calls, nil)
	// Triggers, one page of actions, one page of modules, the bindings of
	// two managed triggers.
	if n := reads(f.srv); n != 5 {
		t.Errorf("steady state made %d reads, want 5", n)
	}
}

func TestEditedAction(t *testing.T) {
	f := synced(t)
	f.repo.write(map[string]string{"actions/deny-blocked-ips/index.js": "exports.onExecutePostLogin = async (event, api) => { api.access.deny('closed'); };\n"})
	f.repo.commit("close the door")
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, deployCall})
	if res.Applied[0].Version != 2 {
		t.Errorf("deployed version %d, want 2", res.Applied[0].Version)
	}
}

func TestRevertIsRollback(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	first, _ := f.repo.repo.Head()
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.repo.write(map[string]string{"actions/deny-blocked-ips/index.js": "exports.onExecutePostLogin = async () => {};\n"})
	f.repo.commit("a bad change")
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.repo.revertTo(first.Hash().String(), "Revert \"a bad change\"")
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{rollbackCall})
	if s := res.Plan.Steps[0]; s.Kind != diff.Rollback || s.Version.Number != 1 {
		t.Errorf("step = %+v, want a rollback to version 1", s)
	}
	if res.Applied[0].Version != 3 {
		t.Errorf("rollback made version %d, want 3", res.Applied[0].Version)
	}
	// The rollback's answer says the version is built: no read waits on it.
	if n := reads(f.srv); n != res.Reads {
		t.Errorf("%d reads, want the plan's %d alone", n, res.Reads)
	}
	assertSteady(t, f)
}

func assertSteady(t *testing.T, f *fixture) {
	t.Helper()
	assertSteadyWith(t, f, sync.Options{})
}

func TestReorderedTriggers(t *testing.T) {
	f := synced(t)
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - require-mfa-for-admins\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("mfa first")
	_, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{bindLogin})
	assertSteady(t, f)
}

func TestDashboardChangeIsHealed(t *testing.T) {
	f := synced(t)
	ctx := t.Context()
	l, _ := f.api.Action.List(ctx, management.Parameter("actionName", "deny-blocked-ips"))
	a := l.Actions[0]
	edit := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers, Code: auth0.String("exports.onExecutePostLogin = async () => {}; // edited in the dashboard\n")}
	if err := f.api.Action.Update(ctx, a.GetID(), edit); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, f, a.GetID())
	if _, err := f.api.Action.Deploy(ctx, a.GetID()); err != nil {
		t.Fatal(err)
	}
	// Someone also dropped a binding.
	f.api.Action.UpdateBindings(ctx, "credentials-exchange", []*management.ActionBinding{})
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The commit equals version 1: a rollback, no build.
	assertCalls(t, calls, []string{rollbackCall, bindM2M})
	if res.Plan.Steps[0].Kind != diff.Rollback {
		t.Errorf("plan = %+v", res.Plan.Steps)
	}
	assertSteady(t, f)
}

func waitBuilt(t *testing.T, f *fixture, id string) {
	t.Helper()
	for range 1000 {
		a, err := f.api.Action.Read(t.Context(), id)
		if err == nil && a.GetStatus() == string(tenant.StatusBuilt) {
			return
		}
	}
	t.Fatal("the build never finished")
}

func TestDroppedAction(t *testing.T) {
	f := synced(t)
	f.repo.remove("actions/require-mfa-for-admins")
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("drop mfa")
	t.Run("without --prune", func(t *testing.T) {
		res, calls, err := f.reconcile(sync.Options{})
		if err != nil {
			t.Fatal(err)
		}
		assertCalls(t, calls, []string{bindLogin})
		if len(res.Plan.Unmanaged) != 1 || res.Plan.Unmanaged[0].Action != "require-mfa-for-admins" {
			t.Errorf("unmanaged = %+v", res.Plan.Unmanaged)
		}
	})
	t.Run("with --prune", func(t *testing.T) {
		_, calls, err := f.reconcile(sync.Options{Prune: true})
		if err != nil {
			t.Fatal(err)
		}
		assertCalls(t, calls, []string{deleteCall})
		l, _ := f.api.Action.List(t.Context())
		if l.Total != 3 {
			t.Errorf("%d actions left, want 3", l.Total)
		}
	})
}

func TestPruneEverythingRefused(t *testing.T) {
	f := synced(t)
	f.repo.remove("actions")
	f.repo.write(map[string]string{"triggers.yaml": "post-login: []\ncredentials-exchange: []\n"})
	f.repo.commit("empty")
	_, calls, err := f.reconcile(sync.Options{Prune: true})
	if !errors.Is(err, diff.ErrDeletesAll) {
		t.Fatalf("error = %v, want ErrDeletesAll", err)
	}
	assertCalls(t, calls, nil)
}

func TestFailingBuild(t *testing.T) {
	f := synced(t)
	ctx := t.Context()
	before, _ := f.api.Action.List(ctx, management.Parameter("actionName", "enrich-profile"))
	f.repo.write(map[string]string{
		"actions/enrich-profile/action.yaml": strings.Replace(exampleFiles(t)["actions/enrich-profile/action.yaml"], "lodash\n    version: 4.17.21", "lodash\n    version: 99.0.0", 1),
		"actions/new-one/action.yaml":        "trigger:\n  id: post-login\ndependencies:\n  - name: left-pad\n    version: 1.3.0\n",
		"actions/new-one/index.js":           "exports.onExecutePostLogin = async () => {};\n",
		"actions/deny-blocked-ips/index.js":  "exports.onExecutePostLogin = async () => {}; // v2\n",
		"triggers.yaml":                      "post-login:\n  - new-one\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\n  - require-mfa-for-admins\ncredentials-exchange:\n  - add-token-claims\n",
	})
	f.repo.commit("two bad dependencies")
	res, calls, err := f.reconcile(sync.Options{})
	if !errors.Is(err, sync.ErrBuildFailed) || !strings.Contains(err.Error(), "No matching version found for lodash@99.0.0") {
		t.Fatalf("error = %v, want both build failures reported", err)
	}
	var se *sync.StepError
	if !errors.As(err, &se) || se.Subject != "enrich-profile" && se.Subject != "new-one" {
		t.Errorf("error = %v, want a StepError naming a failed action", err)
	}
	if !strings.Contains(err.Error(), "left-pad@1.3.0") {
		t.Errorf("error lacks the new action's build failure: %v", err)
	}
	// The good edit goes on; the failed ones deploy nothing; the order is
	// written without the action that never deployed.
	assertCalls(t, calls, []string{createCall, updateCall, updateCall, deployCall, bindLogin})
	after, _ := f.api.Action.List(ctx, management.Parameter("actionName", "enrich-profile"))
	if after.Actions[0].DeployedVersion.GetID() != before.Actions[0].DeployedVersion.GetID() {
		t.Error("the failed action's live version changed")
	}
	bl, _ := f.api.Action.Bindings(ctx, "post-login")
	if len(bl.Bindings) != 3 || bl.Bindings[1].GetAction().GetName() != "enrich-profile" {
		t.Errorf("bindings after a failed build: %d, second %s", len(bl.Bindings), bl.Bindings[1].GetAction().GetName())
	}
	failed := 0
	for _, r := range res.Applied {
		if r.Err != nil {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d failed steps, want 2", failed)
	}
}

func TestSecretRotation(t *testing.T) {
	f := synced(t)
	f.env["ENRICH_API_KEY"] = "key-2"
	var logs bytes.Buffer
	res, calls, err := f.reconcile(sync.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, deployCall})
	if s := res.Plan.Steps[0]; !slices.Equal(s.Secrets, []string{"API_KEY"}) || !slices.Equal(s.Fields, []tenant.Field{tenant.FieldSecrets}) {
		t.Errorf("step = %+v, want the secret alone", s)
	}
	assertSteady(t, f)
	// Neither the value nor an unsalted hash of it is in the logs, the plan,
	// a URL, or the code the tenant keeps.
	var plan bytes.Buffer
	res.Plan.JSON(&plan)
	sum := sha256.Sum256([]byte("key-2"))
	l, _ := f.api.Action.List(t.Context(), management.Parameter("actionName", "enrich-profile"))
	kept := l.Actions[0].GetCode()
	for what, text := range map[string]string{"logs": logs.String(), "plan": plan.String(), "code": kept} {
		if strings.Contains(text, "key-2") || strings.Contains(text, hex.EncodeToString(sum[:])[:16]) {
			t.Errorf("the %s show the secret or its plain hash", what)
		}
	}
	for _, r := range f.srv.Requests() {
		if strings.Contains(r.Path+r.Query, "key-2") {
			t.Error("a secret value reached a URL")
		}
	}
	if !strings.Contains(kept, " secrets=API_KEY:") {
		t.Errorf("the code lacks the fingerprint line:\n%s", kept)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	p, calls, err := f.plan(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes.Steps) != 7 {
		t.Errorf("dry run planned %d steps, want 7", len(p.Changes.Steps))
	}
	assertCalls(t, calls, nil)
}

// TestMarketplaceIntegration: triggers.yaml may bind an integration the
// repo does not hold, and --prune never deletes one.
func TestMarketplaceIntegration(t *testing.T) {
	f := synced(t)
	if _, err := f.srv.InstallIntegration("fraud-check", "post-login"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.InstallIntegration("unused-integration", "post-login"); err != nil {
		t.Fatal(err)
	}
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - fraud-check\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\n  - require-mfa-for-admins\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("bind the fraud check first")
	res, calls, err := f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{bindLogin})
	var kept []string
	for _, u := range res.Plan.Unmanaged {
		kept = append(kept, u.Action+": "+u.Reason)
	}
	want := []string{"fraud-check: a Marketplace integration: never deleted", "unused-integration: a Marketplace integration: never deleted"}
	if !slices.Equal(kept, want) {
		t.Errorf("unmanaged = %q, want %q", kept, want)
	}
	_, calls, err = f.reconcile(sync.Options{Prune: true})
	if err != nil || len(calls) != 0 {
		t.Errorf("second run: %v, calls %q", err, calls)
	}
}

// TestSteadyWithoutTriggerVersions: an action.yaml that leaves the trigger
// version to the tenant costs no extra read in the steady state.
func TestSteadyWithoutTriggerVersions(t *testing.T) {
	files := exampleFiles(t)
	for name, content := range files {
		if strings.HasSuffix(name, "action.yaml") {
			files[name] = strings.NewReplacer("  version: v3\n", "", "  version: v2\n", "").Replace(content)
		}
	}
	f := newFixture(t, files, localtenant.Options{})
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil || !res.Plan.Empty() || len(calls) != 0 {
		t.Fatalf("second run: %v, %+v, %q", err, res.Plan.Steps, calls)
	}
	if n := reads(f.srv); n != 5 {
		t.Errorf("steady state made %d reads, want 5", n)
	}
}

// panicky is the real client, but for a Create that panics.
type panicky struct{ live.Client }

func (panicky) Create(context.Context, *management.Action, ...management.RequestOption) error {
	panic("boom")
}

// TestPanicFailsTheStep: a panic in one step is that step's error, never a
// crash (whose exit code 2 would read as "changes pending").
func TestPanicFailsTheStep(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	eng := sync.NewWith(panicky{live.NewClient(f.api)}, sourceOf(f), sync.Options{
		Poll: 5 * time.Millisecond, SecretKey: []byte("k"), Manifest: f.env.opts(),
	})
	_, err := planAndApply(t.Context(), eng)
	if err == nil || !strings.Contains(err.Error(), "internal error: boom") {
		t.Errorf("error = %v, want the panic as a step error", err)
	}
}
