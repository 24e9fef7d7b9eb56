package localtenant

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const tokenLifetime = 24 * time.Hour

// token is /oauth/token for the client-credentials grant, with the client
// authenticating by HTTP Basic, form fields or a JSON body. It issues an
// HS256 JWT signed with the tenant's own key.
func (t *Tenant) token(w http.ResponseWriter, r *http.Request) {
	p, err := tokenParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if p.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+p.Get("grant_type"))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = p.Get("client_id"), p.Get("client_secret")
	}
	if id == "" || !t.clientOK(id, secret) {
		oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	aud := p.Get("audience")
	if aud == "" {
		aud = "https://" + r.Host + "/api/v2/"
	}
	now := t.opts.Now()
	tok := t.signJWT(map[string]any{
		"iss": "https://" + r.Host + "/", "sub": id + "@clients", "aud": aud,
		"iat": now.Unix(), "exp": now.Add(tokenLifetime).Unix(), "gty": "client-credentials",
		"scope": scopes, "azp": id,
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "scope": scopes, "expires_in": int(tokenLifetime.Seconds()), "token_type": "Bearer",
	})
}

const scopes = "read:actions create:actions update:actions delete:actions read:clients"

func (t *Tenant) clientOK(id, secret string) bool {
	if t.opts.ClientID == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(id), []byte(t.opts.ClientID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(t.opts.ClientSecret)) == 1
}

func tokenParams(r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		v := url.Values{}
		for k, x := range m {
			if s, ok := x.(string); ok {
				v.Set(k, s)
			}
		}
		return v, nil
	}
	return url.ParseQuery(string(body))
}

func oauthError(w http.ResponseWriter, code int, kind, desc string) {
	writeJSON(w, code, map[string]string{"error": kind, "error_description": desc})
}

func (t *Tenant) signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenValid reports whether tok is a JWT this tenant signed that has not
// expired.
func (t *Tenant) tokenValid(tok string) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(tok[:i]))
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return false
	}
	parts := strings.Split(tok[:i], ".")
	if len(parts) != 2 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	return json.Unmarshal(raw, &claims) == nil && t.opts.Now().Unix() < claims.Exp
}

// authorized requires a Bearer token: any non-empty one on an open tenant, one
// this tenant issued when client credentials are configured.
func (t *Tenant) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		switch {
		case auth == "":
			writeError(w, http.StatusUnauthorized, "Missing authentication", "")
		case !ok || strings.TrimSpace(tok) == "":
			writeError(w, http.StatusUnauthorized, "Bad HTTP authentication header format", "")
		case t.opts.ClientID != "" && !t.tokenValid(tok):
			writeError(w, http.StatusUnauthorized, "Invalid token", "invalid_token")
		default:
			h(w, r)
		}
	})
}
