package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func (d *Daemon) listen() (*http.Server, error) {
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", d.cfg.Listen, err)
	}
	d.addr = ln.Addr()
	close(d.ready)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.HandleFunc("GET /readyz/{env}", d.readyEnv)
	mux.Handle("GET /metrics", d.cfg.Metrics.Handler())
	mux.HandleFunc("POST /webhook", d.webhook)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", "err", err)
		}
	}()
	d.log.Info("serving", "addr", ln.Addr().String())
	return srv, nil
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
// call, so a rotated one takes effect at once. Anything else answers 401
// and changes nothing.
func (d *Daemon) webhook(w http.ResponseWriter, r *http.Request) {
	if d.cfg.WebhookSecretFile == "" {
		http.Error(w, "no webhook secret is configured", http.StatusNotFound)
		return
	}
	secret, err := os.ReadFile(d.cfg.WebhookSecretFile)
	if err != nil || len(strings.TrimSpace(string(secret))) == 0 {
		d.log.Error("read the webhook secret", "err", err)
		http.Error(w, "webhook secret unavailable", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 5<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if !validSignature([]byte(strings.TrimSpace(string(secret))), body, r.Header.Get("X-Hub-Signature-256")) {
		d.log.Warn("webhook with a bad signature", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	kicked := d.kickPush(body, "webhook "+r.Header.Get("X-GitHub-Event"))
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, kicked+"\n")
}

func validSignature(secret, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
}
