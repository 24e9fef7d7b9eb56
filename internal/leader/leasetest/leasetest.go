// Package leasetest serves the part of the Kubernetes API that leader
// election uses, Leases (coordination.k8s.io/v1: get, create, update with
// optimistic concurrency), over real HTTP, for tests that run client-go's
// leader election for real.
package leasetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Server is a running Lease API.
type Server struct {
	URL string
	// Kubeconfig is a kubeconfig file that reaches the server.
	Kubeconfig string

	mu     sync.Mutex
	leases map[string]map[string]any // namespace/name → the Lease object
	next   int                       // resource versions
}

// Start serves a Lease API until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{leases: map[string]map[string]any{}}
	mux := http.NewServeMux()
	const base = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
	mux.HandleFunc("GET "+base+"/{name}", s.get)
	mux.HandleFunc("POST "+base, s.create)
	mux.HandleFunc("PUT "+base+"/{name}", s.update)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Kubeconfig = filepath.Join(tb.TempDir(), "kubeconfig")
	config := "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {server: " + srv.URL + "}\n" +
		"users:\n- name: test\n  user: {token: test}\ncontexts:\n- name: test\n  context: {cluster: test, user: test}\ncurrent-context: test\n"
	if err := os.WriteFile(s.Kubeconfig, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Holder is the holder identity of the Lease, or "".
func (s *Server) Holder(namespace, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[namespace+"/"+name]
	if l == nil {
		return ""
	}
	spec, _ := l["spec"].(map[string]any)
	h, _ := spec["holderIdentity"].(string)
	return h
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[r.PathValue("ns")+"/"+r.PathValue("name")]
	if l == nil {
		status(w, http.StatusNotFound, "NotFound", `leases.coordination.k8s.io "`+r.PathValue("name")+`" not found`)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	l, name, ok := decode(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.PathValue("ns") + "/" + name
	if s.leases[key] != nil {
		status(w, http.StatusConflict, "AlreadyExists", `leases.coordination.k8s.io "`+name+`" already exists`)
		return
	}
	s.store(key, l, r.PathValue("ns"))
	writeJSON(w, http.StatusCreated, l)
}

// update replaces the Lease if the client saw its current resource
// version, and answers 409 Conflict otherwise: the optimistic concurrency
// that makes one leader.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	l, _, ok := decode(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.PathValue("ns") + "/" + r.PathValue("name")
	old := s.leases[key]
	if old == nil {
		status(w, http.StatusNotFound, "NotFound", `leases.coordination.k8s.io "`+r.PathValue("name")+`" not found`)
		return
	}
	if meta(l)["resourceVersion"] != meta(old)["resourceVersion"] {
		status(w, http.StatusConflict, "Conflict", "the object has been modified; please apply your changes to the latest version and try again")
		return
	}
	s.store(key, l, r.PathValue("ns"))
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) store(key string, l map[string]any, ns string) {
	s.next++
	m := meta(l)
	m["resourceVersion"], m["namespace"] = strconv.Itoa(s.next), ns
	l["metadata"], l["kind"], l["apiVersion"] = m, "Lease", "coordination.k8s.io/v1"
	s.leases[key] = l
}

func decode(w http.ResponseWriter, r *http.Request) (map[string]any, string, bool) {
	var l map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&l); err != nil {
		status(w, http.StatusBadRequest, "BadRequest", err.Error())
		return nil, "", false
	}
	name, _ := meta(l)["name"].(string)
	return l, name, true
}

func meta(l map[string]any) map[string]any {
	m, _ := l["metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// status answers a Kubernetes Status object, as the API server does.
func status(w http.ResponseWriter, code int, reason, message string) {
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
