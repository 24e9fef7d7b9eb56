package main_test

import (
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/actionsync/actionsync/"

// TestArchitecturePicture: the import graph the README draws is the one
// `go list` reports, package for package and edge for edge (test-support
// packages such as tenanttest aside).
func TestArchitecturePicture(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	drawn := drawnGraph(t, string(readme))
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	real := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := short(fields[0])
		if strings.Contains(pkg, "/") && strings.HasSuffix(pkg, "test") {
			continue // a test-support package beside the one it serves
		}
		deps := []string{}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) {
				deps = append(deps, short(imp))
			}
		}
		slices.Sort(deps)
		real[pkg] = deps
	}
	if len(drawn) != len(real) || !maps.EqualFunc(drawn, real, slices.Equal) {
		for _, pkg := range slices.Sorted(maps.Keys(real)) {
			if _, ok := drawn[pkg]; !ok {
				t.Errorf("the README does not draw %s", pkg)
			} else if !slices.Equal(drawn[pkg], real[pkg]) {
				t.Errorf("%s: the README draws %v, the code imports %v", pkg, drawn[pkg], real[pkg])
			}
		}
		for pkg := range drawn {
			if _, ok := real[pkg]; !ok {
				t.Errorf("the README draws %s, which does not exist", pkg)
			}
		}
	}
}

func short(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "internal/")
}

var edge = regexp.MustCompile(`^(\S+)\s+→(.*)$`)

// drawnGraph reads the picture in the README's Architecture section.
func drawnGraph(t *testing.T, readme string) map[string][]string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "## Architecture\n")
	if !ok {
		t.Fatal("the README has no Architecture section")
	}
	_, block, _ := strings.Cut(section, "```\n")
	block, _, _ = strings.Cut(block, "```")
	out := map[string][]string{}
	for _, line := range strings.Split(block, "\n") {
		if m := edge.FindStringSubmatch(line); m != nil {
			if _, dup := out[m[1]]; dup {
				t.Errorf("the README draws %s twice", m[1])
			}
			deps := strings.Fields(m[2])
			slices.Sort(deps)
			out[m[1]] = deps
		}
	}
	if len(out) == 0 {
		t.Fatal("no picture in the Architecture section")
	}
	return out
}
