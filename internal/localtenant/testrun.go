package localtenant

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/node"
)

type runResult struct {
	APICalls   []any          `json:"api_calls"`
	Logs       string         `json:"logs"`
	DurationMS int64          `json:"duration_ms"`
	Error      map[string]any `json:"error,omitempty"`
}

func errorResult(msg string) runResult {
	return runResult{Error: map[string]any{"name": "Error", "message": msg}}
}

// run runs a's handler with event (and a's secrets) under node
// and returns what it did.
func (t *Tenant) run(ctx context.Context, a node.Action, event map[string]any) runResult {
	if t.opts.Node == "-" {
		return errorResult("running action code is disabled on this local tenant")
	}
	res, err := t.runner.Run(ctx, event, a)
	switch {
	case errors.Is(err, node.ErrNoNode) && t.opts.Node == "":
		return errorResult("node is not installed where the local tenant runs")
	case err != nil:
		return errorResult(err.Error())
	}
	out := runResult{APICalls: []any{}, DurationMS: res.Duration.Milliseconds()}
	if len(res.Actions) > 0 {
		out.DurationMS = res.Actions[0].Duration.Milliseconds()
	}
	for _, c := range res.Calls {
		var args any
		json.Unmarshal(c.Args, &args)
		out.APICalls = append(out.APICalls, map[string]any{"method": c.Method, "args": args})
	}
	lines := make([]string, len(res.Logs))
	for i, l := range res.Logs {
		lines[i] = l.Text
	}
	out.Logs = strings.Join(lines, "\n")
	if e := res.Error; e != nil {
		out.Error = map[string]any{"name": e.Name, "message": e.Message}
		if e.Stack != "" {
			out.Error["stack"] = e.Stack
		}
	}
	return out
}

// testAction runs the draft's code with the payload's event and answers
// {"payload": {...}} in the recorded shape, with an error object when the
// code throws. Each run is stored as an execution.
func (t *Tenant) testAction(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Payload map[string]any `json:"payload"`
	}
	if err := readJSON(r, testActionSchema, false, &body); err != nil {
		answer(w, 0, nil, err)
		return
	}
	payload := body.Payload
	t.mu.Lock()
	a, err := t.findAction(r.PathValue("id"))
	var run node.Action
	if err == nil {
		run = t.runnable(a)
	}
	t.mu.Unlock()
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	event := payload
	if e, ok := payload["event"].(map[string]any); ok {
		event = e
	}
	started := t.opts.Now()
	res := t.run(r.Context(), run, event)
	ended := t.opts.Now()
	id := t.storeExecution(run.Name, run.Trigger, res, started, ended)
	out := map[string]any{
		"logs":         res.Logs,
		"api_calls":    orEmpty(res.APICalls),
		"execution_id": id,
		"stats":        runStats(ended.Sub(started).Milliseconds(), res.DurationMS),
	}
	if res.Error != nil {
		out["error"] = res.Error
	}
	answer(w, http.StatusOK, map[string]any{"payload": out}, nil)
}

// runnable is a's draft as the runner takes it: its code, secrets and
// pinned module versions, and, when the tenant has a dependency cache, the
// npm dependencies of both (without one, code that requires them throws).
// Callers hold t.mu.
func (t *Tenant) runnable(a *action) node.Action {
	run := node.Action{Name: a.Name, Trigger: a.trigger(), Code: a.Draft.Code, Secrets: secretValues(a.Secrets)}
	if t.opts.NPMCache != "" {
		run.Dependencies = nodeDeps(a.Draft.Deps)
	}
	for _, ref := range a.Draft.Modules {
		m := find(t.st.Modules, func(m *module) bool { return m.ID == ref.ModuleID })
		if m == nil {
			continue
		}
		if v := m.version(ref.VersionID); v != nil {
			mod := node.Module{Name: m.Name, Code: v.Content.Code, Secrets: secretValues(v.Content.Secrets)}
			if t.opts.NPMCache != "" {
				mod.Dependencies = nodeDeps(v.Content.Deps)
			}
			run.Modules = append(run.Modules, mod)
		}
	}
	return run
}

func secretValues(ss []secret) map[string]string {
	out := make(map[string]string, len(ss))
	for _, s := range ss {
		out[s.Name] = s.Value
	}
	return out
}

func nodeDeps(ds []dependency) []node.Dependency {
	out := make([]node.Dependency, len(ds))
	for i, d := range ds {
		out[i] = node.Dependency{Name: d.Name, Version: d.Version}
	}
	return out
}

func orEmpty(x []any) []any {
	if x == nil {
		return []any{}
	}
	return x
}

func (t *Tenant) storeExecution(name, trigger string, res runResult, started, ended time.Time) string {
	status := "final"
	if res.Error != nil {
		status = "unspecified"
	}
	e := &execution{
		ID: strings.ReplaceAll(newID(), "-", ""), TriggerID: trigger, Status: status,
		Results:   []executionStep{{ActionName: name, Error: res.Error, StartedAt: started, EndedAt: ended}},
		CreatedAt: started, UpdatedAt: ended,
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Executions[e.ID] = e
	if err := t.save(); err != nil {
		t.opts.Logger.Warn("save tenant state", "err", err)
	}
	return e.ID
}

func (t *Tenant) readExecution(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.st.Executions[r.PathValue("id")]
	if !ok {
		answer(w, 0, nil, notFound("That execution does not exist."))
		return
	}
	answer(w, http.StatusOK, e, nil)
}

// runStats fills the stats object of a test run: the local runtime makes no
// network calls, so those durations are zero, and boot is node's start-up.
func runStats(total, action int64) map[string]any {
	return map[string]any{
		"total_request_duration_ms":           total,
		"total_runtime_execution_duration_ms": total,
		"runtime_processing_duration_ms":      0,
		"action_duration_ms":                  action,
		"runtime_external_call_duration_ms":   0,
		"boot_duration_ms":                    max(total-action, 0),
		"network_duration_ms":                 0,
	}
}
