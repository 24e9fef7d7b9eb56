package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"golang.org/x/net/netutil"
)

// HTTPLimits bound what a client of the daemon's HTTP server may hold: a
// client slow to send its headers or its body, or idle on a kept-alive
// connection, is cut off; headers and bodies are bounded; and past
// MaxConns, connections wait in the kernel's queue to be accepted rather
// than spending the file descriptors reconciles need. Zero fields take
// the defaults below.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // the whole request, body included; default 30s
	WriteTimeout      time.Duration // default 30s
	IdleTimeout       time.Duration // between requests on a kept-alive connection; default 60s
	// MaxConns bounds the connections served at once; the default is 4,096,
	// or fewer when RLIMIT_NOFILE leaves less than that and 256 to spare.
	MaxConns int
	// BadSignatureWindow is how long webhooks with a bad signature are
	// counted before one line logs them all; default 10s.
	BadSignatureWindow time.Duration
	// The probes' listener's own: the connections of one IP address
	// (past them a connection is closed at once), and one request a
	// connection.
	perPeer     int
	noKeepAlive bool
}

const (
	maxHeaderBytes = 16 << 10
	// maxWebhookBody is the largest push event accepted; GitHub caps its
	// payloads at 25 MB, but a push to a repo of actions is a few kB.
	maxWebhookBody = 5 << 20
	maxConns       = 4096
	fdReserve      = 256 // descriptors kept for the tenant, Git and files
)

func (l HTTPLimits) withDefaults() HTTPLimits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 5*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 60*time.Second)
	def(&l.BadSignatureWindow, 10*time.Second)
	if l.MaxConns <= 0 {
		l.MaxConns = connLimit()
	}
	return l
}

// connLimit is maxConns, or what RLIMIT_NOFILE leaves past fdReserve.
func connLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > maxConns+fdReserve {
		return maxConns
	}
	return max(int(rl.Cur)-fdReserve, 16)
}

const (
	// probeConns bounds the connections of the probes' own listener: the
	// kubelet and a scraper hold a few, and a probe is cheap to answer, so
	// clients from many addresses must hold hundreds to delay one.
	probeConns = 512
	// probePerPeer bounds the connections of one peer to it.
	probePerPeer = 8
	// probeHeaderTimeout bounds the time a probe has to send its headers.
	probeHeaderTimeout = 2 * time.Second
)

// listen starts the HTTP servers: Listen's, and ProbeListen's when set.
// Once both listen (or on an error), Addr and ProbeAddr answer.
func (d *Daemon) listen() ([]*http.Server, error) {
	defer close(d.ready)
	lim := d.cfg.HTTP.withDefaults()
	probes := http.NewServeMux()
	probes.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	probes.HandleFunc("GET /readyz", d.readyz)
	probes.HandleFunc("GET /readyz/{env}", d.readyEnv)
	probes.Handle("GET /metrics", d.cfg.Metrics.Handler())
	var srvs []*http.Server
	if d.cfg.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("/", probes)
		mux.Handle("POST /webhook", &webhook{d: d, bad: &burst{window: lim.BadSignatureWindow, clock: d.cfg.Clock, log: d.log}, bodies: newPeerSlots(maxWebhookBodies, webhookBodiesPerPeer)})
		srv, addr, err := d.serveOn(d.cfg.Listen, mux, lim)
		if err != nil {
			return nil, err
		}
		srvs, d.addr = append(srvs, srv), addr
	}
	if d.cfg.ProbeListen != "" {
		// One request a connection (the kubelet opens one a probe), a
		// client of its own peer cap, and little time to send headers: 64
		// connections kept alive, or left silent, by one client would
		// otherwise hold every slot for the idle or header timeout.
		lim.MaxConns, lim.perPeer = min(lim.MaxConns, probeConns), probePerPeer
		lim.ReadHeaderTimeout, lim.noKeepAlive = min(lim.ReadHeaderTimeout, probeHeaderTimeout), true
		srv, addr, err := d.serveOn(d.cfg.ProbeListen, probes, lim)
		if err != nil {
			for _, s := range srvs {
				s.Close()
			}
			return nil, err
		}
		srvs, d.probeAddr = append(srvs, srv), addr
	}
	return srvs, nil
}

// serveOn serves h on a listener of addr, within lim.
func (d *Daemon) serveOn(addr string, h http.Handler, lim HTTPLimits) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           dropUnread(h),
		ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout,
		WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
	}
	srv.SetKeepAlivesEnabled(!lim.noKeepAlive)
	if lim.perPeer > 0 {
		ln = &peerLimit{Listener: ln, slots: newPeerSlots(math.MaxInt, lim.perPeer)}
	}
	go func() {
		if err := srv.Serve(netutil.LimitListener(ln, lim.MaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", "addr", ln.Addr().String(), "err", err)
		}
	}()
	d.log.Info("serving", "addr", ln.Addr().String(), "max_conns", lim.MaxConns)
	return srv, ln.Addr(), nil
}

// peerLimit closes at once a connection from a peer (an IP address) that
// holds its share of slots already, so that one client cannot take every
// slot of the listener it wraps (which bounds the total itself).
type peerLimit struct {
	net.Listener
	slots *peerSlots
}

func (l *peerLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := l.slots.take(peerOf(c.RemoteAddr().String()))
		if !ok {
			c.Close()
			continue
		}
		return &peerConn{Conn: c, release: release}, nil
	}
}

// peerOf is the IP address of a remote address host:port.
func peerOf(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// peerConn releases its peer's count once, when closed.
type peerConn struct {
	net.Conn
	once    gosync.Once
	release func()
}

func (c *peerConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// dropUnread closes the connection of a request answered before its body
// was read whole (a webhook refused unread, a probe sent a body) instead of
// reading the rest to keep the connection: net/http would wait for it, up
// to ReadTimeout, and a few thousand clients sending bodies slowly would
// hold every connection the server allows, the probes' included.
func dropUnread(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		body := &eofReader{ReadCloser: r.Body}
		r.Body = body
		h.ServeHTTP(w, r)
		if !body.eof {
			// The answer is not sent yet: net/http sends it when the
			// handler returns, then reads what is left of the body, which
			// now fails at once and closes the connection.
			http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
}

// eofReader notes whether its reader was read to its end.
type eofReader struct {
	io.ReadCloser
	eof bool
}

func (r *eofReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

// serve shuts the server down when ctx ends.
func (d *Daemon) serve(ctx context.Context, srv *http.Server) {
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
}

func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	ok, why := d.Ready()
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	io.WriteString(w, why+"\n")
}

// webhook accepts GitHub's push webhook: the body's HMAC-SHA256 under the
// shared secret must match X-Hub-Signature-256. The secret is read on every
// call, so a rotated one takes effect at once. A body over 5 MB is 413,
// whatever its signature; a bad signature is 401 and changes nothing.
type webhook struct {
	d   *Daemon
	bad *burst
	// bodies are the slots of the bodies read at once: before its
	// signature can be checked a body is held whole, so without a bound
	// anonymous clients could hold 5 MB each (the 4,096 connections
	// allowed, 20 GB). A request past them, or past its peer's share, is
	// 503 and held nothing; a body has webhookBodyTime to arrive.
	bodies *peerSlots
}

const (
	// maxWebhookBodies bounds the webhook bodies in memory at once: 40 MB.
	maxWebhookBodies = 8
	// webhookBodiesPerPeer bounds those of one IP address, so that clients
	// sending bodies slowly need 8 addresses to leave GitHub none (a push
	// from GitHub holds its slot for milliseconds).
	webhookBodiesPerPeer = 1
	// webhookBodyTime bounds the time a webhook's body takes to arrive
	// (GitHub sends a push event at once).
	webhookBodyTime = 10 * time.Second
)

// peerSlots are max slots, at most perPeer of them held by one peer.
type peerSlots struct {
	max, perPeer int
	mu           gosync.Mutex
	total        int
	held         map[string]int
}

func newPeerSlots(max, perPeer int) *peerSlots {
	return &peerSlots{max: max, perPeer: perPeer, held: map[string]int{}}
}

// take takes a slot for peer, and returns its release, or false.
func (p *peerSlots) take(peer string) (func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total >= p.max || p.held[peer] >= p.perPeer {
		return nil, false
	}
	p.total++
	p.held[peer]++
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.total--
		if p.held[peer]--; p.held[peer] == 0 {
			delete(p.held, peer)
		}
	}, true
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := h.d
	if d.cfg.WebhookSecretFile == "" {
		http.Error(w, "no webhook secret is configured", http.StatusNotFound)
		return
	}
	secret, err := readSecret(d.cfg.WebhookSecretFile)
	if err != nil {
		d.log.Error("read the webhook secret", "file", d.cfg.WebhookSecretFile, "err", err)
		http.Error(w, "webhook secret unavailable", http.StatusInternalServerError)
		return
	}
	sig, ok := signatureOf(r.Header.Get("X-Hub-Signature-256"))
	if !ok { // no body is read for a request that cannot be signed
		h.bad.add(r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	release, ok := h.bodies.take(peerOf(r.RemoteAddr))
	if !ok {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy: too many webhook bodies are being read", http.StatusServiceUnavailable)
		return
	}
	defer release()
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(webhookBodyTime))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("body over %d bytes", maxWebhookBody), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if !validSignature(secret, body, sig) {
		h.bad.add(r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	kicked := d.kickPush(body, "webhook "+r.Header.Get("X-GitHub-Event"))
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, kicked+"\n")
}

// readSecret reads the webhook secret; an empty file is an error too.
func readSecret(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, errors.New("the file is empty")
	}
	return []byte(s), nil
}

// signatureOf reads X-Hub-Signature-256: sha256= and 64 hex digits.
func signatureOf(header string) ([]byte, bool) {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return nil, false
	}
	sig, err := hex.DecodeString(got)
	return sig, err == nil && len(sig) == sha256.Size
}

func validSignature(secret, body, sig []byte) bool {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
}

// burst counts webhooks with a bad signature and logs them in one line a
// window: a flood of 500 makes one line with its count, not 500 lines.
type burst struct {
	window time.Duration
	clock  Clock
	log    *slog.Logger

	mu      gosync.Mutex
	count   int
	remotes []string // the first few senders
}

const burstRemotes = 5

func (b *burst) add(remote string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == 0 {
		go b.flushAfter(b.clock.After(b.window))
	}
	b.count++
	remote = peerOf(remote)
	if len(b.remotes) < burstRemotes && !slices.Contains(b.remotes, remote) {
		b.remotes = append(b.remotes, remote)
	}
}

func (b *burst) flushAfter(at <-chan time.Time) {
	<-at
	b.mu.Lock()
	count, remotes := b.count, b.remotes
	b.count, b.remotes = 0, nil
	b.mu.Unlock()
	b.log.Warn("webhooks with a bad signature", "count", count, "window", b.window.String(), "remotes", strings.Join(remotes, ","))
}
