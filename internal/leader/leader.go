// Package leader runs a function only while this process holds a
// Kubernetes Lease, through client-go's leader election, so that replicas
// of the daemon have one writer between them.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Config says which Lease to hold, and how.
type Config struct {
	// REST reaches the Kubernetes API; see RESTConfig.
	REST *rest.Config
	// Namespace and Name name the Lease.
	Namespace, Name string
	// Identity names this replica in the Lease; "" means the host name (a
	// pod's name) and a random suffix, so two processes on one host differ.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's; 0 means
	// 15s, 10s and 2s, the values Kubernetes' own controllers use.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// OnNewLeader, when set, is told the identity of each leader observed.
	OnNewLeader func(identity string)
	Logger      *slog.Logger
}

// Run campaigns for the Lease until ctx ends. While it holds it, lead runs
// with a context that ends when the Lease is lost or ctx ends; Run waits for
// lead to return before it campaigns again, so two leads of one process
// never overlap. The Lease is released when ctx ends, so another replica
// takes over at once.
func Run(ctx context.Context, cfg Config, lead func(ctx context.Context)) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	// JSON, which every API server speaks, rather than client-go's default
	// protobuf; a Lease is a few hundred bytes either way.
	restCfg := rest.CopyConfig(cfg.REST)
	restCfg.ContentType = "application/json"
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(restCfg, "actionsync-leader-election"))
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	// client-go's election logs through the context's logger: ours.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(cfg.Logger.Handler()))
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// One lead at a time: client-go starts OnStartedLeading in a goroutine
	// it does not wait for, so a lead may still be returning when the next
	// election is won.
	one := make(chan struct{}, 1)
	serial := func(lctx context.Context) {
		one <- struct{}{}
		defer func() { <-one }()
		if lctx.Err() == nil {
			cfg.Logger.Info("leading", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
			lead(lctx)
			cfg.Logger.Warn("stopped leading", "lease", cfg.Namespace+"/"+cfg.Name)
		}
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			ReleaseOnCancel: true, Name: cfg.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: serial, OnStoppedLeading: func() {}, OnNewLeader: cfg.OnNewLeader,
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx) // returns when the Lease is lost or ctx ends
	}
	one <- struct{}{} // wait for the last lead to return
	<-one
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if c.REST == nil || c.Namespace == "" || c.Name == "" {
		return c, errors.New("leader election needs a Kubernetes API, a namespace and a lease name")
	}
	if c.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("leader election: identity: %w", err)
		}
		suffix := make([]byte, 4)
		rand.Read(suffix)
		c.Identity = host + "_" + hex.EncodeToString(suffix)
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// namespaceFile holds the namespace of the pod, in a cluster.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// RESTConfig is how to reach the Kubernetes API: in a pod, the cluster's
// own service account; elsewhere $KUBECONFIG. It also returns the pod's
// namespace ("" outside a cluster).
func RESTConfig() (*rest.Config, string, error) {
	if c, err := rest.InClusterConfig(); err == nil {
		ns, _ := os.ReadFile(namespaceFile)
		return c, strings.TrimSpace(string(ns)), nil
	}
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		return nil, "", errors.New("leader election: not in a Kubernetes pod, and $KUBECONFIG is not set")
	}
	c, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, "", fmt.Errorf("leader election: read $KUBECONFIG: %w", err)
	}
	return c, "", nil
}
