package e2e

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// A client that half-closes its socket after sending a GET makes Go's
// server cancel the request's context while the handler runs. With valid
// Basic credentials such a request must never be answered as if the
// credentials were wrong (401) nor as a server fault (5xx logged at
// ERROR): the server says 499, the client-closed-request status, and logs
// it at INFO.
func TestHalfClosedClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "half", "halfreg", "Basic")
	if _, err := newPusher(srv).pushImage("halfreg/app", "v1", []byte("half-close layer")); err != nil {
		t.Fatal(err)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(srv.Boot.ClientID+":"+srv.Boot.ClientSecret))
	statuses := map[int]int{}
	for i := range 400 {
		path := "/v2/"
		if i%2 == 1 {
			path = "/v2/halfreg/app/tags/list"
		}
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		_, err = conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: " + srv.Addr + "\r\nAuthorization: " + auth + "\r\nConnection: close\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		conn.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			statuses[resp.StatusCode]++
			resp.Body.Close()
		} else {
			statuses[0]++ // the server closed without an answer
		}
		conn.Close()
	}
	t.Logf("statuses of 400 half-closed requests: %v", statuses)
	for code, n := range statuses {
		if code != 0 && code != 200 && code != 499 {
			t.Errorf("%d half-closed requests with valid credentials answered %d", n, code)
		}
	}
	for _, line := range strings.Split(srv.Logs(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("a client that went away was logged as an error: %s", line)
		}
	}
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (Linux routes all of 127/8 to lo), as another machine's would.
func clientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// burst sends n requests, conc at a time, and counts their statuses.
// Every 429 must carry Retry-After.
func burst(t *testing.T, n, conc int, send func(i int) (*http.Response, error)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	next := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				resp, err := send(i)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After: %v", resp.Header)
				}
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return statuses
}

// Brute force: 1,000 wrong secrets in a burst from one address cost the
// server little CPU (failed sign-ins are throttled per principal and
// address, and per address, with 429 and Retry-After), X-Forwarded-For
// from an untrusted peer does not spread them over made-up addresses,
// and the real owner signing in from another address at the same time
// gets in, paying a real secret check (nothing is cached yet). On the
// identity token endpoint (client credentials) and on the data plane
// (HTTP Basic of a repository token).
func TestBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	const n, conc = 1000, 16
	tokenURL := srv.URL + "/" + srv.Boot.TenantID + "/oauth2/v2.0/token"
	form := func(secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Boot.ClientID}, "client_secret": {secret},
			"scope": {"https://management.azure.com/.default"}}
	}
	// attack sends n wrong secrets from one address while the owner signs
	// in from another, and reports both.
	attack := func(t *testing.T, from, owner string, wrong func(c *http.Client, i int) (*http.Response, error), right func(c *http.Client) (*http.Response, error)) {
		attacker, victim := clientFrom(from, conc), clientFrom(owner, 1)
		cpu0, start := srv.CPUTime(t), time.Now()
		type result struct {
			status  int
			latency time.Duration
			err     error
		}
		valid := make(chan result, 1)
		go func() {
			time.Sleep(100 * time.Millisecond) // in the middle of the burst
			t0 := time.Now()
			resp, err := right(victim)
			if err != nil {
				valid <- result{err: err}
				return
			}
			resp.Body.Close()
			valid <- result{status: resp.StatusCode, latency: time.Since(t0)}
		}()
		statuses := burst(t, n, conc, func(i int) (*http.Response, error) { return wrong(attacker, i) })
		wall, cpu := time.Since(start), srv.CPUTime(t)-cpu0
		v := <-valid
		t.Logf("%d wrong secrets from %s in %v: statuses %v, server CPU %v; a valid sign-in from %s: %d in %v",
			n, from, wall.Round(time.Millisecond), statuses, cpu, owner, v.status, v.latency.Round(time.Millisecond))
		if v.err != nil || v.status != 200 {
			t.Errorf("the valid sign-in from another address: %d %v", v.status, v.err)
		}
		if statuses[http.StatusTooManyRequests] < n*9/10 {
			t.Errorf("only %d of %d wrong secrets were throttled", statuses[http.StatusTooManyRequests], n)
		}
		if cpu > 5*time.Second {
			t.Errorf("%d wrong secrets cost the server %v of CPU", n, cpu)
		}
	}

	t.Run("token endpoint", func(t *testing.T) {
		attack(t, "127.0.0.5", "127.0.0.2", // not 127.0.0.1, from which the set-up below signs in
			func(c *http.Client, i int) (*http.Response, error) {
				req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form(fmt.Sprintf("wrong-%d", i)).Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255))
				return c.Do(req)
			},
			func(c *http.Client) (*http.Response, error) { return c.PostForm(tokenURL, form(srv.Boot.ClientSecret)) })
	})

	t.Run("data plane", func(t *testing.T) {
		srv.CreateRegistry(t, "brute", "brutereg", "Basic")
		regID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/brute/providers/Microsoft.ContainerRegistry/registries/brutereg"
		arm := newARM(t, srv)
		const v = "?api-version=2023-07-01"
		if code, m := arm.do("PUT", regID+"/tokens/ci-bot"+v, `{"properties":{"scopeMapId":"`+regID+`/scopeMaps/_repositories_pull"}}`); code != 201 {
			t.Fatalf("token: %d %v", code, m)
		}
		code, m := arm.do("POST", regID+"/generateCredentials"+v, `{"tokenId":"`+regID+`/tokens/ci-bot","name":"password1"}`)
		if code != 200 {
			t.Fatalf("generateCredentials: %d %v", code, m)
		}
		password := m["passwords"].([]any)[0].(map[string]any)["value"].(string)
		basic := func(c *http.Client, pass string, i int) (*http.Response, error) {
			req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
			req.SetBasicAuth("ci-bot", pass)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
			return c.Do(req)
		}
		attack(t, "127.0.0.3", "127.0.0.4",
			func(c *http.Client, i int) (*http.Response, error) { return basic(c, fmt.Sprintf("wrong-%d", i), i) },
			func(c *http.Client) (*http.Response, error) { return basic(c, password, 0) })
	})
}
