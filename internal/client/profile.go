// Package client is the az-style command-line client: it talks to a
// Bulkhead server only over HTTP, exactly as az does (token endpoint, ARM
// routes, LRO polling), so it exercises the same surface users script
// against.
package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Profile is the signed-in state, kept in <config dir>/profile.json (0600)
// like az keeps its MSAL cache.
type Profile struct {
	Endpoint       string    `json:"endpoint"`
	TenantID       string    `json:"tenantId"`
	ClientID       string    `json:"clientId"`
	ClientSecret   string    `json:"clientSecret"`
	SubscriptionID string    `json:"subscriptionId"`
	CAFile         string    `json:"caFile,omitempty"`
	Token          string    `json:"accessToken,omitempty"`
	Expires        time.Time `json:"expiresOn"`
}

// ConfigDir is $BULKHEAD_CONFIG_DIR or ~/.bulkhead.
func ConfigDir() string {
	if d := os.Getenv("BULKHEAD_CONFIG_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".bulkhead")
}

func loadProfile() (*Profile, error) {
	b, err := os.ReadFile(filepath.Join(ConfigDir(), "profile.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("please run 'bulkhead login' to set up an account")
	}
	if err != nil {
		return nil, err
	}
	var p Profile
	return &p, json.Unmarshal(b, &p)
}

func (p *Profile) save() error {
	if err := os.MkdirAll(ConfigDir(), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(filepath.Join(ConfigDir(), "profile.json"), b, 0o600)
}

// conn is an authenticated connection to a server.
type conn struct {
	p    *Profile
	http *http.Client
}

func newConn(p *Profile) (*conn, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &conn{p: p, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}, nil
}

// token returns a cached or fresh management token.
func (c *conn) token() (string, error) {
	if c.p.Token != "" && time.Until(c.p.Expires) > time.Minute {
		return c.p.Token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.p.ClientID}, "client_secret": {c.p.ClientSecret},
		"scope": {c.p.Endpoint + "/.default"}}
	resp, err := c.http.PostForm(c.p.Endpoint+"/"+c.p.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("login failed: %s %s", t.Error, t.Description)
	}
	c.p.Token, c.p.Expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second)
	return t.AccessToken, c.p.save()
}

// apiError is an ARM error answer, printed as az prints it.
type apiError struct {
	Status        int
	Code, Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("(%s) %s\nCode: %s\nMessage: %s", e.Code, e.Message, e.Code, e.Message)
}

// do sends an ARM request and follows long-running operations to the end,
// returning the final body.
func (c *conn) do(method, path string, body any) ([]byte, error) {
	b, resp, err := c.send(method, c.abs(path), body)
	if err != nil {
		return nil, err
	}
	if op := resp.Header.Get("Azure-AsyncOperation"); op != "" {
		if err := c.pollAsync(op); err != nil {
			return nil, err
		}
		if method == http.MethodPut || method == http.MethodPatch {
			b, _, err = c.send(http.MethodGet, c.abs(path), nil)
		}
		return b, err
	}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode == http.StatusAccepted {
		for i := 0; i < 600; i++ {
			lb, lresp, err := c.send(http.MethodGet, loc, nil)
			if err != nil {
				return nil, err
			}
			if lresp.StatusCode != http.StatusAccepted {
				return lb, nil
			}
			time.Sleep(time.Second)
		}
	}
	return b, nil
}

func (c *conn) pollAsync(op string) error {
	for i := 0; i < 600; i++ {
		b, _, err := c.send(http.MethodGet, op, nil)
		if err != nil {
			return err
		}
		var st struct {
			Status string
			Error  struct{ Code, Message string }
		}
		json.Unmarshal(b, &st)
		switch st.Status {
		case "Succeeded":
			return nil
		case "Failed", "Canceled":
			return &apiError{Status: 400, Code: st.Error.Code, Message: st.Error.Message}
		}
		time.Sleep(time.Second)
	}
	return errors.New("timed out waiting for the operation")
}

func (c *conn) abs(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return c.p.Endpoint + path
}

func (c *conn) send(method, u string, body any) ([]byte, *http.Response, error) {
	tok, err := c.token()
	if err != nil {
		return nil, nil, err
	}
	var rd io.Reader
	if body != nil {
		switch x := body.(type) {
		case []byte:
			rd = bytes.NewReader(x)
		default:
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 400 {
		var env struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(b, &env)
		if env.Error.Code == "" {
			env.Error.Code, env.Error.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
		}
		return nil, resp, &apiError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	}
	return b, resp, nil
}

// NotFound reports a 404 answer (az exits 3 for those).
func NotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
