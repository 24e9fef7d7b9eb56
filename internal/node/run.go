package node

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

//go:embed harness.js
var harness string

// Runner runs Auth0 Action code under node. The zero value looks for node
// and npm on PATH, stops a run after DefaultTimeout and cannot install
// dependencies (set Cache). It is safe for concurrent use; do not copy it
// after first use.
type Runner struct {
	// Node is the path of the node binary; "" looks for node on PATH.
	Node string
	// NPM is the path of the npm binary; "" looks for npm on PATH. It is
	// needed only to install dependencies.
	NPM string
	// Cache is the directory that keeps one installed copy of each distinct
	// dependency set (under .actionsync/ for the CLI). "" means an action
	// with dependencies cannot run.
	Cache string
	// Registry is the npm registry URL; "" means npm's own setting.
	Registry string
	// Timeout bounds one Run: all the actions of a flow together, as
	// Auth0's limit does. 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one line per dependency install; nil discards.
	Logger *slog.Logger

	mu       sync.Mutex
	pending  map[string]*sync.Mutex // dependency sets being installed, by key
	perm     *permission            // how permNode turns its permission model on
	permNode string
}

// Run runs actions, in order, for one event, as Auth0 runs a trigger's flow
// (see Flow): each gets a copy of the event carrying the flow's metadata so
// far and its own event.secrets. A throw stops the flow, as does a deny
// once its action returns. The error is non-nil only when the code could not
// run: node or npm missing (ErrNoNode, ErrNoNPM), a dependency that could not
// be installed (ErrRegistry, ErrInstall), or ctx ended.
func (r *Runner) Run(ctx context.Context, event map[string]any, actions ...Action) (*Result, error) {
	nodePath, err := r.nodePath()
	if err != nil {
		return nil, err
	}
	perm, err := r.permissionFor(ctx, nodePath)
	if err != nil {
		return nil, err
	}
	paths, err := r.modulePaths(ctx, actions)
	if err != nil {
		return nil, err
	}
	mods := make([][]moduleCommand, len(actions))
	for i, a := range actions {
		if mods[i], err = r.modules(ctx, a); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "actionsync-node-*")
	if err != nil {
		return nil, fmt.Errorf("run actions: %w", err)
	}
	defer os.RemoveAll(dir)
	allowed := paths
	for _, ms := range mods {
		for _, m := range ms {
			allowed = append(allowed, m.Paths)
		}
	}
	started := time.Now()
	p, err := start(nodePath, perm.args(dir, allowed...), dir)
	if err != nil {
		return nil, err
	}
	res, err := r.flow(ctx, p, event, actions, paths, mods)
	p.stop()
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(started)
	newMasker(actions).result(res)
	return res, nil
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Runner) nodePath() (string, error) {
	return lookPath(r.Node, "node", ErrNoNode)
}

func (r *Runner) npmPath() (string, error) {
	return lookPath(r.NPM, "npm", ErrNoNPM)
}

// lookPath finds the binary at path, or name on PATH, or says which is
// missing with sentinel.
func lookPath(path, name string, sentinel error) (string, error) {
	if path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: no %s on PATH", sentinel, name)
		}
		return p, nil
	}
	if _, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("%w: %s: %v", sentinel, path, errors.Unwrap(err))
	}
	return path, nil
}

// command is what the harness reads for one action.
type command struct {
	ID      int             `json:"id"`
	File    string          `json:"file"`
	Handler string          `json:"handler"`
	Code    string          `json:"code"`
	Event   map[string]any  `json:"event"`
	Paths   []string        `json:"paths"`
	Modules []moduleCommand `json:"modules"`
}

// moduleCommand is one Action Module of a command.
type moduleCommand struct {
	Name    string            `json:"name"`
	File    string            `json:"file"`
	Code    string            `json:"code"`
	Paths   []string          `json:"paths"`
	Secrets map[string]string `json:"secrets"`
}

// modules prepares the Action Modules of a, their dependencies installed.
func (r *Runner) modules(ctx context.Context, a Action) ([]moduleCommand, error) {
	out := make([]moduleCommand, len(a.Modules))
	for i, m := range a.Modules {
		paths, err := r.depsPath(ctx, a.Name+"'s module "+m.Name, m.Dependencies)
		if err != nil {
			return nil, err
		}
		file := m.File
		if file == "" {
			file = "modules/" + m.Name + ".js"
		}
		out[i] = moduleCommand{Name: m.Name, File: file, Code: m.Code, Paths: paths, Secrets: m.Secrets}
		if out[i].Secrets == nil {
			out[i].Secrets = map[string]string{}
		}
	}
	return out, nil
}

// flow sends each action to the harness in turn and collects what it did,
// applying Flow between actions, until one throws, denies, or time runs out.
func (r *Runner) flow(ctx context.Context, p *process, event map[string]any, actions []Action, paths [][]string, mods [][]moduleCommand) (*Result, error) {
	if err := p.awaitReady(ctx); err != nil {
		return nil, err
	}
	limit := r.timeout()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	deadline := time.Now().Add(limit)
	f := NewFlow(event)
	res := &Result{}
	for i, a := range actions {
		cmd := command{ID: i + 1, File: a.File, Handler: Handler(a.Trigger), Code: a.Code, Event: f.Event(), Paths: paths[i], Modules: mods[i]}
		if cmd.File == "" {
			cmd.File = "action.js"
		}
		cmd.Event["secrets"] = secretsOf(a)
		run := ActionRun{Name: a.Name}
		var calls []Call
		err := p.send(cmd, deadline)
		if err == nil {
			calls, err = p.await(ctx, timer.C, cmd.ID, a.Name, res, &run)
		}
		res.Actions = append(res.Actions, run)
		f.Record(a.Name, calls)
		if err != nil {
			if err := r.stopped(ctx, p, res, a.Name, err); err != nil {
				return nil, err
			}
			break
		}
		if run.Error != nil {
			res.Error = run.Error
			break
		}
		if f.Stopped() {
			break
		}
	}
	res.State, res.DeniedBy = f.State, f.DeniedBy
	return res, nil
}

func secretsOf(a Action) map[string]any {
	out := make(map[string]any, len(a.Secrets))
	for k, v := range a.Secrets {
		out[k] = v
	}
	return out
}

// errTimedOut and errExited end a flow early; anything else is returned.
var (
	errTimedOut = errors.New("timed out")
	errExited   = errors.New("exited")
)

// stopped records in res why a run did not finish, or returns the error
// that kept it from running.
func (r *Runner) stopped(ctx context.Context, p *process, res *Result, action string, err error) error {
	last := &res.Actions[len(res.Actions)-1]
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("run %s: %w", action, ctx.Err())
	case errors.Is(err, errTimedOut):
		res.TimedOut = true
		last.Error = &Error{Action: action, Name: "Error", Message: fmt.Sprintf("%s: timed out after %s", TimeoutMessage, r.timeout())}
	case errors.Is(err, errExited):
		last.Error = &Error{Action: action, Name: "Error", Message: p.exitMessage("node exited before the action returned")}
	case errors.Is(err, errTooMuch):
		last.Error = &Error{Action: action, Name: "Error", Message: err.Error()}
	default:
		return fmt.Errorf("run %s: %w", action, err)
	}
	res.Error = last.Error
	return nil
}
