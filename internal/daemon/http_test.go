package daemon_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
)

// logBuffer collects a daemon's JSON log lines.
type logBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines whose msg is msg, decoded.
func (b *logBuffer) lines(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func withLog(b *logBuffer) func(*daemon.Config) {
	return func(c *daemon.Config) { c.Logger = slog.New(slog.NewJSONHandler(b, nil)) }
}

func withHTTP(l daemon.HTTPLimits) func(*daemon.Config) {
	return func(c *daemon.Config) { c.HTTP = l }
}

// startServing starts a daemon that follows a live origin, with opts.
func startServing(t *testing.T, opts ...func(*daemon.Config)) (*origin, *harness) {
	t.Helper()
	o := newOrigin(t)
	o.commit(actionFiles(codeA))
	o.push()
	h := startWith(t, o, 30*time.Millisecond, time.Hour, 10*time.Millisecond, opts...)
	h.eventually("live", func() bool { return h.liveCode() == codeA })
	return o, h
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard one, as Go does
// at start on Linux, in case the test runner lowered it.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur < need {
		t.Fatalf("RLIMIT_NOFILE is %d, the test needs %d", rl.Cur, need)
	}
}

// dial opens n connections to addr; with request, each sends one request
// and then idles on the kept-alive connection; without, each sends nothing.
func dial(t *testing.T, addr string, n int, request bool) []net.Conn {
	t.Helper()
	return open(t, addr, n, func(i int, c net.Conn) {
		if request {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("keep-alive connection %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
	})
}

// open opens n connections to addr, closed when the test ends, and calls
// start on each once it is open.
func open(t *testing.T, addr string, n int, start func(i int, c net.Conn)) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		start(i, c)
	}
	return conns
}

// TestIdleConnections holds 2,000 idle connections to the daemon, half of
// them silent since they opened, half kept alive after a request: /healthz
// still answers, and a push still goes live.
func TestIdleConnections(t *testing.T) {
	raiseFileLimit(t, 5000)
	o, h := startServing(t)
	addr := h.d.Addr().String()
	dial(t, addr, 1000, false)
	dial(t, addr, 1000, true)
	start := time.Now()
	code, body := h.get("/healthz")
	t.Logf("/healthz with 2,000 idle connections held: %v", time.Since(start))
	if code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	o.commit(actionFiles(codeB))
	o.push()
	h.eventually("the push live with 2,000 idle connections held", func() bool { return h.liveCode() == codeB })
}

// TestSlowClientsAreCutOff: a client that sends its headers, or its body,
// too slowly is disconnected by the server's timeouts.
func TestSlowClientsAreCutOff(t *testing.T) {
	_, h := startServing(t, withHTTP(daemon.HTTPLimits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond}))
	addr := h.d.Addr().String()
	for _, tc := range []struct{ name, sent string }{
		{"headers never finished", "POST /webhook HTTP/1.1\r\nHost: x\r\n"},
		{"body never finished", "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ref\":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.sent)
			c.SetReadDeadline(time.Now().Add(20 * time.Second)) // the test's own bound, far past the server's
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server still held the connection after 20s")
			}
		})
	}
}

// TestConnectionCap: past MaxConns, a connection waits to be accepted
// until one is freed; the server's descriptors stay bounded.
func TestConnectionCap(t *testing.T) {
	_, h := startServing(t, withHTTP(daemon.HTTPLimits{MaxConns: 4, ReadHeaderTimeout: time.Minute}))
	addr := h.d.Addr().String()
	idle := dial(t, addr, 4, false)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := client.Get(h.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a fifth connection was served while four were held")
	}
	idle[0].Close()
	h.eventually("served once a connection is freed", func() bool {
		resp, err := client.Get(h.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestWebhookBodyLimit: a body over 5 MB is 413, signed or not; one of
// 5 MB with a valid signature is accepted.
func TestWebhookBodyLimit(t *testing.T) {
	_, h := startServing(t)
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"5 MB", 5 << 20, http.StatusAccepted},
		{"over 5 MB", 5<<20 + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tc.size)
			if got := h.postWebhook(body, sign(h.secret, body)); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
}

// TestBadSignaturesLogOnce: a burst of 507 webhooks with a bad signature
// is logged in one line a window, each counting its own: at most one line
// for each window the burst spans, never one a request.
func TestBadSignaturesLogOnce(t *testing.T) {
	var logs logBuffer
	const window = time.Second
	_, h := startServing(t, withLog(&logs), withHTTP(daemon.HTTPLimits{BadSignatureWindow: window}))
	const n = 507
	start := time.Now()
	for i := range n {
		if got := h.postWebhook([]byte(`{}`), sign("wrong", []byte(fmt.Sprint(i)))); got != 401 {
			t.Fatalf("request %d: %d", i, got)
		}
	}
	spanned := int(time.Since(start)/window) + 1
	h.eventually("the burst logged", func() bool { return countOf(logs.lines("webhooks with a bad signature")) == n })
	lines := logs.lines("webhooks with a bad signature")
	if len(lines) > spanned {
		t.Errorf("%d lines for a burst spanning %d windows", len(lines), spanned)
	}
	if lines[0]["remotes"] != "127.0.0.1" {
		t.Errorf("remotes = %v", lines[0]["remotes"])
	}
	t.Logf("%d bad webhooks: %d log line(s)", n, len(lines))
}

func countOf(lines []map[string]any) int {
	n := 0
	for _, l := range lines {
		c, _ := l["count"].(float64)
		n += int(c)
	}
	return n
}

// TestWebhookSecretUnreadable: an empty or missing secret file answers 500
// and logs why, never "err": null.
func TestWebhookSecretUnreadable(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct{ name, file, want string }{
		{"empty", empty, "the file is empty"},
		{"missing", filepath.Join(dir, "missing"), "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			_, h := startServing(t, withLog(&logs), func(c *daemon.Config) { c.WebhookSecretFile = tc.file })
			code := h.postWebhook([]byte("{}"), "")
			lines := logs.lines("read the webhook secret")
			if code != 500 || len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0]["err"]), tc.want) {
				t.Errorf("status %d, log %v; want 500 and an error with %q", code, lines, tc.want)
			}
		})
	}
}

// postWebhook posts body to /webhook with the signature header sig (none
// when empty) and returns the status.
func (h *harness) postWebhook(body []byte, sig string) int {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.base+"/webhook", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWebhookBodiesAreBounded: a request without a well-formed signature
// is refused before its body is read, and at most 8 bodies are held at
// once, 1 from one IP address: so anonymous clients hold at most 40 MB of
// the daemon's memory, not 5 MB each, and leave GitHub a slot unless they
// send from 8 addresses.
func TestWebhookBodiesAreBounded(t *testing.T) {
	_, h := startServing(t)
	addr := strings.TrimPrefix(h.base, "http://")
	hold := func(from, sig string) net.Conn {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Hub-Signature-256: %s\r\n\r\n%s", 5<<20, sig, strings.Repeat("x", 1<<10))
		return c
	}
	answer := func(c net.Conn, within time.Duration) string {
		c.SetReadDeadline(time.Now().Add(within))
		status, _ := bufio.NewReader(c).ReadString('\n')
		return status
	}
	// Unsigned: answered 401 without waiting for the 5 MB it announced.
	if status := answer(hold("127.0.0.2", "none"), 5*time.Second); !strings.Contains(status, " 401 ") {
		t.Fatalf("unsigned request: %q, want 401 before its body", status)
	}
	// Signed (wrongly, as an attacker can): each holds a slot while it
	// sends, one a peer. (Which of two is refused depends on which the
	// server reaches last.)
	wrong := sign("wrong", []byte("x"))
	hold("127.0.0.2", wrong)
	h.eventually("a second body from one peer refused", func() bool {
		return strings.Contains(answer(hold("127.0.0.2", wrong), 300*time.Millisecond), " 503 ")
	})
	if got := h.postWebhook([]byte(`{}`), sign(h.secret, []byte(`{}`))); got != http.StatusAccepted {
		t.Errorf("a signed webhook from another peer beside one peer's slow bodies: %d, want 202", got)
	}
	for i := 3; i <= 9; i++ {
		hold(fmt.Sprintf("127.0.0.%d", i), wrong)
	}
	h.eventually("a ninth body refused", func() bool {
		return h.postWebhook([]byte(`{}`), sign(h.secret, []byte(`{}`))) == http.StatusServiceUnavailable
	})
}

// slowBodies opens n connections that each post a webhook with a
// well-formed signature and a 1,000-byte body of which they send 10 bytes,
// then nothing more.
func slowBodies(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	return open(t, addr, n, func(_ int, c net.Conn) {
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nX-Hub-Signature-256: %s\r\n\r\n{\"ref\":\"x", sign("wrong", []byte("x")))
	})
}

// TestSlowBodiesLeaveProbes: 40 clients send webhook bodies slowly to a
// server allowing 16 connections and a minute to read a request. One is
// read (one peer's share of the bodies' slots) and holds its own, 10 s at
// most; every other is answered 503 and
// its connection closed at once, without waiting a minute for the body it
// announced (which held all 16 connections, and /healthz waited for the
// read timeout: 30 s in production with 6,000 such clients). /healthz
// answers; so does the probes' own listener, with every connection of the
// webhook's listener held.
func TestSlowBodiesLeaveProbes(t *testing.T) {
	_, h := startServing(t, withHTTP(daemon.HTTPLimits{MaxConns: 16, ReadTimeout: time.Minute, ReadHeaderTimeout: time.Minute}),
		func(c *daemon.Config) { c.ProbeListen = "127.0.0.1:0" })
	addr := h.d.Addr().String()
	conns := slowBodies(t, addr, 40)
	var closed atomic.Int32
	var wg gosync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(5 * time.Second)) // the test's own bound, far below the server's minute
			b, err := io.ReadAll(c)
			switch {
			case err == nil && strings.Contains(string(b), " 503 "):
				closed.Add(1)
			case err == nil:
				t.Errorf("answered %q", b)
			}
		})
	}
	wg.Wait()
	if closed := closed.Load(); closed != 39 {
		t.Errorf("%d of 40 slow bodies answered 503 and closed, want 39 (1 is being read)", closed)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	probe := func(base string) error {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := probe(h.base); err != nil {
		t.Errorf("/healthz beside a slow body being read: %v", err)
	}
	// Every connection of the webhook's listener held: the probes' own
	// listener still answers, and serves no webhook.
	dial(t, addr, 16, false)
	probes := "http://" + h.d.ProbeAddr().String()
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := client.Get(probes + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s on the probes' listener: %v %v", path, resp, err)
			continue
		}
		resp.Body.Close()
	}
	resp, err := client.Post(probes+"/webhook", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("/webhook on the probes' listener: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestProbesOutlastOneClient: one client (from 127.0.0.2) opens 64
// connections to the probes' listener that each ask /healthz and stay open,
// and 64 that send nothing. The listener serves one request a connection,
// closes a peer's connections past 8 at once, and gives headers 2 s, so
// /healthz from another peer answers; before, the 64 kept-alive
// connections held every slot for the idle timeout (60 s).
func TestProbesOutlastOneClient(t *testing.T) {
	_, h := startServing(t, withHTTP(daemon.HTTPLimits{IdleTimeout: time.Minute, ReadHeaderTimeout: time.Minute}),
		func(c *daemon.Config) { c.ProbeListen = "127.0.0.1:0" })
	addr := h.d.ProbeAddr().String()
	from := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for i := range 128 {
		c, err := from.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if i < 64 {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz beside one client's 128 connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("/healthz = %d, close %v; want 200, and the connection closed after it", resp.StatusCode, resp.Close)
	}
}
