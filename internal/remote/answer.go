package remote

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/node"
	"github.com/auth0/go-auth0/management"
)

// answer is the test endpoint's payload, as the local tenant answers it:
// Auth0's recorded answers carry error and stats; api_calls, logs and
// execution_id are assumed to be as the local tenant gives them.
type answer struct {
	// APICalls is nil when the answer has none: then nothing can be judged.
	APICalls *[]apiCall `json:"api_calls"`
	// Logs is the console output: one string of lines, or a list of lines.
	Logs  json.RawMessage `json:"logs"`
	Error map[string]any  `json:"error"`
	Stats struct {
		ActionMS float64 `json:"action_duration_ms"`
	} `json:"stats"`
	ExecutionID string `json:"execution_id"`
}

type apiCall struct {
	// Method is the path from api, with or without "api.".
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
}

// decode reads the payload go-auth0 decoded the answer into.
func decode(payload management.ActionTestPayload) (*answer, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("read the test's answer: %w", err)
	}
	var ans answer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, fmt.Errorf("read the test's answer: %w", err)
	}
	return &ans, nil
}

// result is what the answer says action did.
func (ans *answer) result(action string) (*actionOut, error) {
	if ans.APICalls == nil {
		return nil, ErrNoCalls
	}
	out := &actionOut{run: node.ActionRun{Name: action, Duration: time.Duration(ans.Stats.ActionMS * float64(time.Millisecond))}}
	for _, c := range *ans.APICalls {
		args := c.Args
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("[]")
		}
		out.calls = append(out.calls, node.Call{Action: action, Method: strings.TrimPrefix(c.Method, "api."), Args: args})
	}
	for _, line := range logLines(ans.Logs) {
		out.logs = append(out.logs, node.Log{Action: action, Level: "log", Text: line})
	}
	if len(ans.Error) > 0 {
		out.run.Error = errorOf(ans.Error, action)
	}
	return out, nil
}

// logLines splits the answer's logs into lines: a string of lines (the
// local tenant's), or a list of strings; anything else is one line of its
// JSON.
func logLines(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s = strings.TrimRight(s, "\n"); s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	return []string{string(raw)}
}

// errorOf reads an error object: {name, message, stack} as a test answer
// carries it, or {id, msg, url} as Auth0's executions do.
func errorOf(m map[string]any, action string) *node.Error {
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	e := &node.Error{Action: action, Name: str("name", "id"), Message: str("message", "msg"), Stack: str("stack")}
	if e.Name == "" {
		e.Name = "Error"
	}
	return e
}
