package localtenant

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// lookupDeps asks the configured npm registry for each dependency and
// returns a build error for each it does not have. It runs before the
// tenant's lock is taken.
func (t *Tenant) lookupDeps(ctx context.Context, deps *[]dependency) []buildError {
	if t.opts.Registry == "" || deps == nil {
		return nil
	}
	// The build goes on if the client hangs up, as a real build would.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []buildError
	for _, d := range *deps {
		if len(buildErrors([]dependency{d})) > 0 {
			continue // malformed: reported by buildErrors
		}
		u := strings.TrimSuffix(t.opts.Registry, "/") + "/" + url.PathEscape(d.Name) + "/" + url.PathEscape(d.Version)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		switch {
		case err != nil:
			errs = append(errs, buildError{ID: "registry_unreachable", Msg: "Could not reach the npm registry for " + d.Name + "@" + d.Version, URL: npmURL(d.Name)})
		case resp.StatusCode == http.StatusNotFound:
			errs = append(errs, buildError{ID: "invalid_dependency", Msg: "No matching version found for " + d.Name + "@" + d.Version, URL: npmURL(d.Name)})
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	return errs
}
