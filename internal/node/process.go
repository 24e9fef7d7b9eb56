package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	maxLine   = 1 << 20  // one message from the harness
	maxOutput = 16 << 20 // all the messages of one run
	maxStderr = 8 << 10  // node's own complaints, kept for an error message
)

// errTooMuch ends a run whose code writes without bound.
var errTooMuch = fmt.Errorf("the run wrote more than %d MiB of logs and api calls", maxOutput>>20)

// process is one node running the harness, in its own process group.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	stderr tail
	msgs   chan message // closed when stdout ends
	done   chan struct{}

	readErr  error // set before msgs is closed
	waitOnce sync.Once
	waitErr  error
}

// message is one line the harness writes.
type message struct {
	T      string          `json:"t"`
	ID     int             `json:"id"`
	Level  string          `json:"level"`
	Text   string          `json:"text"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
	MS     float64         `json:"ms"`
	Error  *Error          `json:"error"`
}

// start runs the harness in dir, with node's arguments args (the
// permission model's, see permission), and an environment of its own: the
// action's code sees none of this process's variables (no credentials).
func start(nodePath string, args []string, dir string) (*process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	p := &process{stdin: inW, stdout: outR, msgs: make(chan message), done: make(chan struct{})}
	p.stderr.max = maxStderr
	p.cmd = exec.Command(nodePath, append(args, "-e", harness)...)
	p.cmd.Dir = dir
	p.cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir, "TZ=UTC", "PATH=/usr/local/bin:/usr/bin:/bin"}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = time.Second // a grandchild holding stderr open
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	go p.read()
	return p, nil
}

// read turns stdout into messages; a line that is not the harness's (from a
// child process of the code) is a log line of the running action.
func (p *process) read() {
	defer close(p.msgs)
	sc := bufio.NewScanner(p.stdout)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	total := 0
	for sc.Scan() {
		total += len(sc.Bytes())
		if total > maxOutput {
			p.readErr = errTooMuch
			return
		}
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.T == "" {
			m = message{T: "log", ID: -1, Level: "log", Text: sc.Text()}
		}
		select {
		case p.msgs <- m:
		case <-p.done:
			return
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		p.readErr = errTooMuch
	}
}

// bootTimeout bounds node's start-up, which the run's time limit does not
// count (Auth0's does not count its containers' either).
const bootTimeout = 30 * time.Second

// awaitReady waits until the harness reads its input.
func (p *process) awaitReady(ctx context.Context) error {
	boot := time.NewTimer(bootTimeout)
	defer boot.Stop()
	for {
		select {
		case m, ok := <-p.msgs:
			switch {
			case !ok:
				return fmt.Errorf("start node: %s", p.exitMessage("node exited as it started"))
			case m.T == "ready":
				return nil
			}
		case <-boot.C:
			return fmt.Errorf("start node: not ready after %s", bootTimeout)
		case <-ctx.Done():
			return fmt.Errorf("start node: %w", ctx.Err())
		}
	}
}

// send hands the harness one action to run.
func (p *process) send(cmd command, deadline time.Time) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("encode the event: %w", err)
	}
	p.stdin.SetWriteDeadline(deadline)
	_, err = p.stdin.Write(append(b, '\n'))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimedOut
	case err != nil:
		return errExited
	}
	return nil
}

// await collects action id's logs and calls into res until it ends, and
// returns its calls.
func (p *process) await(ctx context.Context, timeout <-chan time.Time, id int, action string, res *Result, run *ActionRun) ([]Call, error) {
	var calls []Call
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				if p.readErr != nil {
					return calls, p.readErr
				}
				return calls, errExited
			}
			if m.ID != id && m.ID != -1 {
				continue // from an action that already ended
			}
			switch m.T {
			case "log":
				res.Logs = append(res.Logs, Log{Action: action, Level: m.Level, Text: m.Text})
			case "call":
				c := Call{Action: action, Method: m.Method, Args: m.Args}
				res.Calls = append(res.Calls, c)
				calls = append(calls, c)
			case "end":
				run.Duration = time.Duration(m.MS * float64(time.Millisecond))
				if m.Error != nil {
					m.Error.Action, m.Error.Stack = action, cleanStack(m.Error.Stack)
					run.Error = m.Error
				}
				return calls, nil
			}
		case <-timeout:
			return calls, errTimedOut
		case <-ctx.Done():
			return calls, ctx.Err()
		}
	}
}

// stop kills the process group, so nothing the code started outlives the
// run, and releases the pipes.
func (p *process) stop() {
	close(p.done)
	p.stdin.Close()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.wait()
	p.stdout.Close()
}

func (p *process) wait() error {
	p.waitOnce.Do(func() { p.waitErr = p.cmd.Wait() })
	return p.waitErr
}

// exitMessage says how node ended, after msg.
func (p *process) exitMessage(msg string) string {
	err := p.wait()
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		msg += ": " + s
	}
	return msg
}

// cleanStack leaves out the frames of the harness and of node's internals.
func cleanStack(stack string) string {
	var keep []string
	for _, line := range strings.Split(stack, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "at ") && (strings.Contains(t, "[eval]") || strings.Contains(t, "(node:") || strings.HasPrefix(t, "at node:")) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
