package node_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestSecretsNeverInResults runs code that logs, throws, returns in claims
// and passes to api every secret value, in every shape it could take, and
// looks for the values anywhere in the result.
func TestSecretsNeverInResults(t *testing.T) {
	needNode(t)
	secrets := map[string]string{
		"KEY":    "sk_live_5f0e9d8c7b6a",
		"QUOTED": `pa"ss\word<&>`, // JSON escapes it
		"PIN":    "918273645",     // can become a number
		"INNER":  "sk_live",       // inside KEY: the longer one must not leave a tail
	}
	leaky := login("leaky", `exports.onExecutePostLogin = async (event, api) => {
  const s = event.secrets;
  console.log("key", s.KEY, s.QUOTED, JSON.stringify(s));
  console.error({nested: {pin: Number(s.PIN)}});
  api.user.setAppMetadata(s.KEY, {deep: [s.QUOTED, Number(s.PIN), "x" + s.INNER + "y"]});
  api.idToken.setCustomClaim("k", s.KEY);
  api.access[s.KEY]();
  throw new Error("failed with " + s.KEY + " and " + s.QUOTED);
};`)
	leaky.Secrets = secrets
	other := login("other", `exports.onExecutePostLogin = async () => {};`)
	res := run(t, nil, nil, leaky, other)
	if res.Error == nil || res.Error.Message != "failed with *** and ***" {
		t.Fatalf("error %+v, want the message with both values masked", res.Error)
	}
	b, _ := json.Marshal(res)
	all := string(b) + fmt.Sprintf("%+v %+v", *res, *res.Error)
	for name, v := range secrets {
		for _, form := range []string{v, strings.ReplaceAll(v, `"`, `\"`)} {
			if strings.Contains(all, form) {
				t.Errorf("secret %s shows in the result:\n%s", name, all)
			}
		}
	}
	want := `leaky: user.setAppMetadata["***",{"deep":["***","***","x***y"]}]` + "\nleaky: idToken.setCustomClaim[\"k\",\"***\"]\nleaky: access.***[]"
	if got := calls(res); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(logs(res), "error: { nested: { pin: *** } }") {
		t.Errorf("logs:\n%s", logs(res))
	}
}

func TestNoSecretsKeepsBytes(t *testing.T) {
	needNode(t)
	res := run(t, nil, nil, login("a", `exports.onExecutePostLogin = async (e, api) => { api.x({b: 1, a: "<&>"}); };`))
	if got := string(res.Calls[0].Args); got != `[{"b":1,"a":"<&>"}]` {
		t.Errorf("args %s, want them as the code wrote them", got)
	}
}
