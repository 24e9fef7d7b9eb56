package localtenant

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

//go:embed harness.js
var harness []byte

// testTimeout bounds one run of an action's code, as Auth0 bounds executions.
const testTimeout = 20 * time.Second

// handlerName is the export Auth0 calls for a trigger: post-login →
// onExecutePostLogin.
func handlerName(trigger string) string {
	var b strings.Builder
	b.WriteString("onExecute")
	for _, part := range strings.Split(trigger, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

type runResult struct {
	APICalls   []any          `json:"api_calls"`
	Logs       string         `json:"logs"`
	DurationMS int64          `json:"duration_ms"`
	Error      map[string]any `json:"error,omitempty"`
}

func (t *Tenant) nodePath() (string, error) {
	switch t.opts.Node {
	case "-":
		return "", errors.New("running action code is disabled on this local tenant")
	case "":
		p, err := exec.LookPath("node")
		if err != nil {
			return "", errors.New("node is not installed where the local tenant runs")
		}
		return p, nil
	}
	return t.opts.Node, nil
}

// run executes code's handler for trigger with event under node, in a
// scratch directory, and returns what it did.
func (t *Tenant) run(ctx context.Context, code, trigger string, event any) runResult {
	node, err := t.nodePath()
	if err != nil {
		return runResult{Error: map[string]any{"name": "Error", "message": err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "actionsync-run-*")
	if err != nil {
		return runResult{Error: map[string]any{"name": "Error", "message": err.Error()}}
	}
	defer os.RemoveAll(dir)
	in, _ := json.Marshal(map[string]any{"code": code, "handler": handlerName(trigger), "event": event})
	cmd := exec.CommandContext(ctx, node, "-e", string(harness))
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			msg = "Script execution time exceeded"
		}
		return runResult{Error: map[string]any{"name": "Error", "message": fmt.Sprintf("%s (%v)", msg, err)}}
	}
	var res runResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return runResult{Error: map[string]any{"name": "Error", "message": "unreadable harness output: " + err.Error()}}
	}
	return res
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
	var code, name, trigger string
	secrets := map[string]any{}
	if err == nil {
		code, name, trigger = a.Draft.Code, a.Name, a.trigger()
		for _, s := range a.Secrets {
			secrets[s.Name] = s.Value
		}
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
	event["secrets"] = secrets
	started := t.opts.Now()
	res := t.run(r.Context(), code, trigger, event)
	delete(event, "secrets") // never echo values back
	ended := t.opts.Now()
	id := t.storeExecution(name, trigger, res, started, ended)
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
