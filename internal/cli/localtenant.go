package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/node"
)

// localTenantCommand is `actionsync local-tenant`: it serves a local tenant
// until the context ends.
type localTenantCommand struct {
	listen       string
	tls          bool
	cert         string
	state        string
	buildDelay   time.Duration
	rateLimit    int
	faults       float64
	requestLog   string
	clientID     string
	clientSecret string
	registry     string
	npmCache     string
	testTimeout  time.Duration
	maxActions   int
	log          logFlags
}

func (c *localTenantCommand) validate() error {
	switch {
	case c.faults < 0 || c.faults > 1:
		return fmt.Errorf("--faults %v: want a share between 0 and 1", c.faults)
	case c.rateLimit < 0:
		return fmt.Errorf("--rate-limit %d: want 0 (none) or more", c.rateLimit)
	case c.buildDelay < 0:
		return fmt.Errorf("--build-delay %v: want 0 or more", c.buildDelay)
	case c.testTimeout <= 0:
		return fmt.Errorf("--test-timeout %v: want more than 0", c.testTimeout)
	case (c.clientID == "") != (c.clientSecret == ""):
		return errors.New("--client-id and --client-secret go together")
	case c.cert != "" && !c.tls:
		return errors.New("--cert needs --tls")
	}
	return errors.Join(validMaxActions(c.maxActions), c.log.validate())
}

func (c *localTenantCommand) flags(fs *flag.FlagSet) {
	c.log.bind(fs)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4000", "address to serve on")
	fs.BoolVar(&c.tls, "tls", false, "serve HTTPS with a generated self-signed certificate")
	fs.StringVar(&c.cert, "cert", "", "with --tls, write the generated certificate (PEM) here for clients to trust")
	fs.StringVar(&c.state, "state", "", "keep the tenant in this JSON file (default in memory)")
	fs.DurationVar(&c.buildDelay, "build-delay", 2*time.Second, "time from a draft change to built")
	fs.IntVar(&c.rateLimit, "rate-limit", 0, "API requests per second, with X-RateLimit-* and 429 (0: none)")
	fs.Float64Var(&c.faults, "faults", 0, "share of API requests answered 429/500/503 or dropped")
	fs.StringVar(&c.requestLog, "request-log", "", "append one JSON line per request to this file")
	fs.StringVar(&c.clientID, "client-id", "", "the only client id /oauth/token accepts (default: any)")
	fs.StringVar(&c.clientSecret, "client-secret", "", "the secret of --client-id")
	bindMaxActions(fs, &c.maxActions)
	fs.StringVar(&c.registry, "npm-registry", "", "npm registry builds look dependencies up in, such as https://registry.npmjs.org (default: check their form only)")
	fs.StringVar(&c.npmCache, "npm-cache", "", "where the test endpoint installs actions' and modules' npm dependencies (default: none; a require of one throws)")
	fs.DurationVar(&c.testTimeout, "test-timeout", node.DefaultTimeout, "bound on one run of the test endpoint: Auth0's limit on an execution")
}

func (c *localTenantCommand) run(ctx context.Context, out streams) (int, error) {
	if err := c.serve(ctx, newLogger(out.stderr, c.log.format)); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

func (c *localTenantCommand) serve(ctx context.Context, log *slog.Logger) error {
	opts := localtenant.Options{
		BuildDelay: c.buildDelay, RateLimit: c.rateLimit, Faults: c.faults, StatePath: c.state,
		ClientID: c.clientID, ClientSecret: c.clientSecret, Registry: c.registry, NPMCache: c.npmCache, TestTimeout: c.testTimeout, MaxActions: c.maxActions, Logger: log,
	}
	if c.requestLog != "" {
		f, err := os.OpenFile(c.requestLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("open request log: %w", err)
		}
		defer f.Close()
		opts.RequestLog = f
	}
	tenant, err := localtenant.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if c.tls {
		scheme = "https"
		cfg, err := selfSigned(c.cert)
		if err != nil {
			return err
		}
		srv.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	if c.clientID == "" && !isLoopback(ln.Addr()) {
		log.Warn("local tenant accepts any credentials and listens beyond loopback", "addr", ln.Addr().String())
	}
	log.Info("local tenant serving", "url", scheme+"://"+ln.Addr().String(), "state", c.state, "build_delay", c.buildDelay.String())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// selfSigned makes a certificate for localhost and 127.0.0.1, writing its PEM
// to certPath when one is given.
func selfSigned(certPath string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "actionsync local tenant"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make certificate: %w", err)
	}
	if certPath != "" {
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := os.WriteFile(certPath, pemBytes, 0o644); err != nil {
			return nil, fmt.Errorf("write certificate: %w", err)
		}
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}
