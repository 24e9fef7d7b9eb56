package cli

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func flagSets() map[string]*flag.FlagSet {
	s := newFlagSet("actionsync", io.Discard)
	(&syncConfig{}).flags(s)
	l := newFlagSet("actionsync local-tenant", io.Discard)
	(&localTenantConfig{}).flags(l)
	return map[string]*flag.FlagSet{"actionsync": s, "local-tenant": l}
}

// TestREADMEListsEveryFlag: the README documents each flag with its
// ACTIONSYNC_* twin.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, fs := range flagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			want := "--" + f.Name + ", $" + envName(f.Name)
			if !strings.Contains(string(readme), want) {
				t.Errorf("%s: README lacks %q", name, want)
			}
		})
	}
}

// TestExamplesUseRealFlags: the Kubernetes example passes only flags that
// exist.
func TestExamplesUseRealFlags(t *testing.T) {
	b, err := os.ReadFile("../../examples/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.NewDecoder(strings.NewReader(string(b))).Decode(&dep); err != nil {
		t.Fatal(err)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 {
		t.Fatal("no args in the example")
	}
	var c syncConfig
	fs := newFlagSet("actionsync", io.Discard)
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Errorf("the example's args do not parse: %v", err)
	}
}

func TestEnvTwins(t *testing.T) {
	var c syncConfig
	fs := newFlagSet("actionsync", io.Discard)
	c.flags(fs)
	env := map[string]string{"ACTIONSYNC_INTERVAL": "45s", "ACTIONSYNC_PRUNE": "true", "ACTIONSYNC_OUTPUT": "json"}
	if err := parse(fs, []string{"--output", "markdown"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.interval.String() != "45s" || !c.prune || c.output != "markdown" {
		t.Errorf("interval %v prune %v output %q; want the twins, with the flag winning", c.interval, c.prune, c.output)
	}
}
