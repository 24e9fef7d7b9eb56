package node_test

import (
	"testing"

	"github.com/actionsync/actionsync/internal/node"
)

// BenchmarkRun is one case of one action: node's start, the run, masking.
func BenchmarkRun(b *testing.B) {
	needNode(b)
	r := &node.Runner{}
	a := login("a", `exports.onExecutePostLogin = async (event, api) => { api.access.deny("x"); };`)
	a.Secrets = map[string]string{"KEY": "value"}
	for b.Loop() {
		run(b, r, loginEvent(), a)
	}
}

// BenchmarkRunFlow is one flow case of three actions in one process.
func BenchmarkRunFlow(b *testing.B) {
	needNode(b)
	r := &node.Runner{}
	for b.Loop() {
		run(b, r, loginEvent(), marker, reader, denier)
	}
}

// BenchmarkRunCachedDependency runs an action that requires lodash from a
// warm cache.
func BenchmarkRunCachedDependency(b *testing.B) {
	needNode(b)
	r := &node.Runner{Cache: b.TempDir()}
	a := login("uses", `const _ = require("lodash");
exports.onExecutePostLogin = async (e, api) => { api.v(_.VERSION); };`)
	a.Dependencies = lodash
	run(b, r, nil, a) // installs
	for b.Loop() {
		run(b, r, nil, a)
	}
}
