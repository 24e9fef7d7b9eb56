package node_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/node"
)

// needNode fails the test where node is missing: the tests run real code.
func needNode(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Fatal("node is needed to run action code; .ci/run installs it")
	}
}

func login(name, code string) node.Action {
	return node.Action{Name: name, Trigger: "post-login", File: "actions/" + name + "/index.js", Code: code}
}

func run(tb testing.TB, r *node.Runner, event map[string]any, actions ...node.Action) *node.Result {
	tb.Helper()
	if r == nil {
		r = &node.Runner{}
	}
	res, err := r.Run(tb.Context(), event, actions...)
	if err != nil {
		tb.Fatalf("run: %v", err)
	}
	return res
}

// calls renders the calls as method(args) from action, one a line.
func calls(res *node.Result) string {
	var lines []string
	for _, c := range res.Calls {
		lines = append(lines, c.Action+": "+c.Method+string(c.Args))
	}
	return strings.Join(lines, "\n")
}

func logs(res *node.Result) string {
	var lines []string
	for _, l := range res.Logs {
		lines = append(lines, l.Level+": "+l.Text)
	}
	return strings.Join(lines, "\n")
}

func TestHandler(t *testing.T) {
	for trigger, want := range map[string]string{
		"post-login":            "onExecutePostLogin",
		"credentials-exchange":  "onExecuteCredentialsExchange",
		"pre-user-registration": "onExecutePreUserRegistration",
		"send-phone-message":    "onExecuteSendPhoneMessage",
	} {
		if got := node.Handler(trigger); got != want {
			t.Errorf("Handler(%q) = %q, want %q", trigger, got, want)
		}
	}
}

func TestRun(t *testing.T) {
	needNode(t)
	t.Setenv("ACTIONSYNC_CANARY", "from-the-parent")
	tests := []struct {
		name      string
		action    node.Action
		event     map[string]any
		wantCalls string
		wantLogs  string
		wantErr   string // name: message of the throw
		wantStack string // a substring of the stack
	}{{
		name: "records calls with their arguments",
		action: login("a", `exports.onExecutePostLogin = async (event, api) => {
  await api.access.deny("no", undefined);
  api.idToken.setCustomClaim("https://x/n", {n: 1, list: [true, null]});
  api.multifactor.enable("any");
};`),
		wantCalls: `a: access.deny["no",null]` + "\n" + `a: idToken.setCustomClaim["https://x/n",{"n":1,"list":[true,null]}]` + "\n" + `a: multifactor.enable["any"]`,
	}, {
		name: "records no call when the api object is printed",
		action: login("a", `exports.onExecutePostLogin = async (event, api) => {
  console.log(JSON.stringify({u: api.user}), "" + api.user, typeof api.then);
};`),
		wantLogs: "log: {} [object Object] undefined",
	}, {
		name: "captures console and stdout",
		action: login("a", `exports.onExecutePostLogin = async (event) => {
  console.log("hello", event.user.email, {a: 1});
  console.warn("careful");
  console.error(new Error("shown").message);
  process.stdout.write("raw line\n");
};`),
		event:    map[string]any{"user": map[string]any{"email": "jo@example.com"}},
		wantLogs: "log: hello jo@example.com { a: 1 }\nwarn: careful\nerror: shown\nlog: raw line",
	}, {
		name:     "gives the secrets in event.secrets",
		action:   node.Action{Name: "a", Trigger: "post-login", Code: `exports.onExecutePostLogin = async (event) => { console.log(Object.keys(event.secrets).join(","), event.secrets.KEY.length); };`, Secrets: map[string]string{"KEY": "12345", "B": "x"}},
		wantLogs: "log: B,KEY 5",
	}, {
		name:     "hides this process's environment",
		action:   login("a", `exports.onExecutePostLogin = async () => { console.log(String(process.env.ACTIONSYNC_CANARY)); };`),
		wantLogs: "log: undefined",
	}, {
		name:      "runs the credentials-exchange handler",
		action:    node.Action{Name: "m", Trigger: "credentials-exchange", Code: `exports.onExecuteCredentialsExchange = async (event, api) => { api.accessToken.setCustomClaim("t", event.client.name); };`},
		event:     map[string]any{"client": map[string]any{"name": "svc"}},
		wantCalls: `m: accessToken.setCustomClaim["t","svc"]`,
	}, {
		name:      "reports a throw with the code's frames",
		action:    login("a", "exports.onExecutePostLogin = async (event, api) => {\n  api.access.deny('first');\n  throw new RangeError('too far');\n};"),
		wantCalls: `a: access.deny["first"]`,
		wantErr:   "RangeError: too far",
		wantStack: "at exports.onExecutePostLogin (actions/a/index.js:3:9)",
	}, {
		name:    "reports a thrown string",
		action:  login("a", `exports.onExecutePostLogin = async () => { throw "plain"; };`),
		wantErr: "Error: plain",
	}, {
		name:    "reports a missing handler",
		action:  node.Action{Name: "a", Trigger: "post-login", Code: `exports.onExecuteCredentialsExchange = async () => {};`},
		wantErr: "TypeError: the code exports no onExecutePostLogin function",
	}, {
		name:      "reports a syntax error",
		action:    login("a", "exports.onExecutePostLogin = async () => {\n  let x = ;\n};"),
		wantErr:   "SyntaxError: Unexpected token ';'",
		wantStack: "actions/a/index.js:2",
	}, {
		name:    "reports code that ends the process",
		action:  login("a", `exports.onExecutePostLogin = async () => { process.exit(3); };`),
		wantErr: "Error: node exited before the action returned (exit status 3)",
	}, {
		name:    "reports an exception no one awaited",
		action:  login("a", `exports.onExecutePostLogin = () => new Promise(() => { setTimeout(() => { throw new Error("later"); }, 1); });`),
		wantErr: "Error: later",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, tc.event, tc.action)
			if got := calls(res); got != tc.wantCalls {
				t.Errorf("calls:\n%s\nwant:\n%s", got, tc.wantCalls)
			}
			if tc.wantLogs != "" && logs(res) != tc.wantLogs {
				t.Errorf("logs:\n%s\nwant:\n%s", logs(res), tc.wantLogs)
			}
			gotErr := ""
			if res.Error != nil {
				gotErr = res.Error.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("error %q, want %q", gotErr, tc.wantErr)
			}
			if tc.wantStack != "" && (res.Error == nil || !strings.Contains(res.Error.Stack, tc.wantStack)) {
				t.Errorf("stack %+v, want it to hold %q", res.Error, tc.wantStack)
			}
			if res.Error != nil && (strings.Contains(res.Error.Stack, "[eval]") || strings.Contains(res.Error.Stack, "node:internal")) {
				t.Errorf("the stack shows the runner's own frames:\n%s", res.Error.Stack)
			}
		})
	}
}

func TestTimeoutEndsTheRun(t *testing.T) {
	needNode(t)
	r := &node.Runner{Timeout: time.Second}
	res := run(t, r, nil, login("spin", `exports.onExecutePostLogin = async (event, api) => {
  api.access.deny("before the spin");
  for (;;) {}
};`))
	if !res.TimedOut || res.Error == nil || !strings.Contains(res.Error.Message, "timed out after 1s") {
		t.Fatalf("timed out %v, error %+v; want a time-out", res.TimedOut, res.Error)
	}
	if got := calls(res); got != `spin: access.deny["before the spin"]` {
		t.Errorf("calls before the time-out: %q", got)
	}
}

// TestCodeCannotReachTheMachine runs code that tries what a hostile pull
// request's action would: read the environment of the process that runs it
// (in CI, the job's credentials), read a file outside its run, write one,
// and start a process that outlives the run. Each is refused by node's
// permission model; its scratch directory stays usable.
func TestCodeCannotReachTheMachine(t *testing.T) {
	needNode(t)
	outside := filepath.Join(t.TempDir(), "canary.txt")
	if err := os.WriteFile(outside, []byte("canary-4f9a"), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "spawned")
	code := `const fs = require("fs"), os = require("os"), path = require("path");
const attempt = (what, f) => { try { return what + ":" + String(f()).slice(0, 40); } catch (e) { return what + ":" + (e.code || e.message); } };
exports.onExecutePostLogin = async (event, api) => {
  api.user.setUserMetadata("tries", [
    attempt("parent-environ", () => fs.readFileSync("/proc/" + process.ppid + "/environ", "utf8")),
    attempt("own-environ", () => fs.readFileSync("/proc/self/environ", "utf8")),
    attempt("outside", () => fs.readFileSync(` + "`" + outside + "`" + `, "utf8")),
    attempt("write-outside", () => fs.writeFileSync(` + "`" + outside + "`" + `, "x")),
    attempt("spawn", () => require("child_process").spawn("sh", ["-c", "sleep 1; touch ` + marker + `"], {detached: true, stdio: "ignore"}).pid),
    attempt("worker", () => new (require("worker_threads").Worker)("1", {eval: true})),
    attempt("scratch", () => { const f = path.join(os.tmpdir(), "x"); fs.writeFileSync(f, "ok"); return fs.readFileSync(f, "utf8"); }),
  ]);
};`
	res := run(t, nil, nil, login("hostile", code))
	if res.Error != nil {
		t.Fatalf("error %+v", res.Error)
	}
	want := `hostile: user.setUserMetadata["tries",["parent-environ:ERR_ACCESS_DENIED","own-environ:ERR_ACCESS_DENIED","outside:ERR_ACCESS_DENIED","write-outside:ERR_ACCESS_DENIED","spawn:ERR_ACCESS_DENIED","worker:ERR_ACCESS_DENIED","scratch:ok"]]`
	if got := calls(res); got != want {
		t.Errorf("calls:\n got %s\nwant %s", got, want)
	}
	if b, _ := os.ReadFile(outside); string(b) != "canary-4f9a" {
		t.Errorf("the file outside holds %q", b)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a process the code started ran after the run")
	}
}

func TestOutputBound(t *testing.T) {
	needNode(t)
	res := run(t, nil, nil, login("loud", `exports.onExecutePostLogin = async () => {
  const line = "x".repeat(1 << 19);
  for (let i = 0; i < 64; i++) console.log(line);
};`))
	if res.Error == nil || !strings.Contains(res.Error.Message, "more than 16 MiB") {
		t.Errorf("error %+v, want the output bound", res.Error)
	}
}

func TestResultJSON(t *testing.T) {
	needNode(t)
	res := run(t, nil, nil, login("a", `exports.onExecutePostLogin = async (e, api) => { api.user.setUserMetadata("k", "v"); };`))
	b, err := json.Marshal(res.Calls)
	if err != nil || string(b) != `[{"action":"a","method":"user.setUserMetadata","args":["k","v"]}]` {
		t.Errorf("calls as JSON: %s %v", b, err)
	}
}
