package export

import (
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
)

// configFile is actionsync.yaml as an export writes it.
type configFile struct {
	Owner        string                     `yaml:"owner,omitempty"`
	Environments map[string]environmentFile `yaml:"environments,omitempty"`
}

// environmentFile is one environment of actionsync.yaml.
type environmentFile struct {
	Domain          string                          `yaml:"domain,omitempty"`
	DomainEnv       string                          `yaml:"domain_env,omitempty"`
	ClientIDEnv     string                          `yaml:"client_id_env,omitempty"`
	ClientSecretEnv string                          `yaml:"client_secret_env,omitempty"`
	TokenEnv        string                          `yaml:"token_env,omitempty"`
	Ref             string                          `yaml:"ref"`
	Secrets         map[string]map[string]envSource `yaml:"secrets,omitempty"`
}

type envSource struct {
	FromEnv string `yaml:"from_env"`
}

// config is what the export writes to actionsync.yaml; ok is false when
// there is nothing to write.
func config(opts Options, rep *Report) (configFile, bool) {
	c := configFile{Owner: opts.Owner}
	if e := opts.Environment; e != nil {
		c.Environments = map[string]environmentFile{e.Name: overlay(e, rep)}
	}
	return c, c.Owner != "" || c.Environments != nil
}

// overlay is the environment the export read, as its actionsync.yaml
// names it, with every exported secret read from a placeholder named per
// environment (prod's enrich-profile API_KEY reads
// $PROD_ENRICH_PROFILE_API_KEY): those are the variables to set before
// syncing that environment, and rep.Env lists them instead of the repo's.
func overlay(e *manifest.Environment, rep *Report) environmentFile {
	t := e.Tenant
	f := environmentFile{Domain: t.Domain, DomainEnv: t.DomainEnv, ClientIDEnv: t.ClientIDEnv,
		ClientSecretEnv: t.ClientSecretEnv, TokenEnv: t.TokenEnv, Ref: e.Ref}
	rep.Env = []string{}
	for _, a := range rep.Actions {
		for _, s := range a.Secrets {
			if f.Secrets == nil {
				f.Secrets = map[string]map[string]envSource{}
			}
			if f.Secrets[a.Action] == nil {
				f.Secrets[a.Action] = map[string]envSource{}
			}
			name := EnvName(e.Name+"_"+strings.TrimPrefix(a.Dir, "actions/"), s.Name)
			f.Secrets[a.Action][s.Name] = envSource{FromEnv: name}
			rep.Env = append(rep.Env, name)
		}
	}
	return f
}
