package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// kickPush reconciles the environments a signed webhook concerns: for a
// push (GitHub names the ref, refs/heads/<branch>), those that follow that
// branch; for anything else (a ping, a body without a ref), every one. It
// says what it queued.
func (d *Daemon) kickPush(body []byte, reason string) string {
	var push struct {
		Ref string `json:"ref"`
	}
	branch, isBranch := "", false
	if json.Unmarshal(body, &push) == nil {
		branch, isBranch = strings.CutPrefix(push.Ref, "refs/heads/")
	}
	var kicked []string
	for _, e := range d.envs {
		if push.Ref == "" || e.ref == "" || isBranch && e.ref == branch {
			e.kick(reason)
			kicked = append(kicked, e.name)
		}
	}
	switch {
	case len(kicked) == 0:
		return "no environment follows " + push.Ref
	case len(d.cfg.Environments) == 0:
		return "reconcile queued"
	}
	return "reconcile queued: " + strings.Join(kicked, ", ")
}

// readyEnv answers /readyz/{env}: one environment's readiness.
func (d *Daemon) readyEnv(w http.ResponseWriter, r *http.Request) {
	ok, why, found := d.ReadyEnv(r.PathValue("env"))
	switch {
	case !found:
		http.Error(w, "no such environment", http.StatusNotFound)
		return
	case !ok:
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	io.WriteString(w, why+"\n")
}
