package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// rawExchange sends head and then body over a plain TCP connection and
// returns the answer. Like curl and Python's requests, it gives up when
// sending the body fails: a server that answers and closes while bytes
// are still arriving resets the connection, and such clients then report
// "connection reset" instead of the answer.
func rawExchange(addr, head string, body io.Reader) (*http.Response, []byte, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, head)
	if _, err := io.Copy(conn, body); err != nil {
		return nil, nil, fmt.Errorf("sending the body: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// An over-size body gets its error answer, in the plane's envelope, not a
// reset connection that hides it.
func TestOversizeBodyAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "big", "bigreg", "Premium")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(srv.Boot.ClientID+":"+srv.Boot.ClientSecret))
	registry := fmt.Sprintf("/subscriptions/%s/resourceGroups/big/providers/Microsoft.ContainerRegistry/registries/bigreg?api-version=2025-11-01", srv.Boot.SubscriptionID)
	for _, size := range []int{6 << 20, 12 << 20, 18 << 20} {
		t.Run(fmt.Sprintf("management %d MiB", size>>20), func(t *testing.T) {
			body := `{"location":"westus","tags":{"t":"` + strings.Repeat("x", size) + `"}}`
			head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				registry, srv.Addr, srv.Token(t), len(body))
			resp, b, err := rawExchange(srv.Addr, head, strings.NewReader(body))
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil || e.Error.Code != "RequestEntityTooLarge" {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	t.Run("manifest", func(t *testing.T) {
		body := strings.Repeat(" ", 6<<20)
		head := fmt.Sprintf("PUT /v2/bigreg/app/manifests/v1 HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: %d\r\n\r\n",
			srv.Addr, basic, len(body))
		resp, b, err := rawExchange(srv.Addr, head, strings.NewReader(body))
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		expectOCIError(t, resp, b, http.StatusRequestEntityTooLarge, "SIZE_INVALID")
	})
}

// A body that stops or trickles loses its connection after --body-timeout
// without progress; one that moves slowly but steadily finishes.
func TestStalledBody(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	t.Parallel()
	fast := testserver.Start(t, testserver.Options{Args: []string{"--body-timeout", "2s"}})
	fast.CreateRegistry(t, "slow", "slowreg", "Premium")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(fast.Boot.ClientID+":"+fast.Boot.ClientSecret))
	patch := func(srv *testserver.Server, n int) string {
		loc, err := newPusher(srv).startUpload("slowreg/app")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
			strings.TrimPrefix(loc, srv.URL), srv.Addr, basic, n)
	}
	// cutAfter sends head, then body at its own pace, and measures how
	// long the server keeps the connection.
	cutAfter := func(srv *testserver.Server, head string, send func(io.Writer) error) time.Duration {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		io.WriteString(conn, head)
		go send(conn)
		conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		io.Copy(io.Discard, conn) // until the server closes
		return time.Since(start)
	}
	t.Run("nothing after the headers", func(t *testing.T) {
		t.Parallel()
		d := cutAfter(fast, patch(fast, 1<<20), func(io.Writer) error { return nil })
		t.Logf("cut after %v", d.Round(time.Millisecond))
		if d < 1500*time.Millisecond || d > 6*time.Second {
			t.Fatalf("cut after %v, want about 2s", d)
		}
	})
	t.Run("a trickle", func(t *testing.T) {
		t.Parallel()
		d := cutAfter(fast, patch(fast, 1<<20), func(w io.Writer) error {
			for {
				if _, err := w.Write([]byte("x")); err != nil {
					return err
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		t.Logf("cut after %v", d.Round(time.Millisecond))
		if d < 1500*time.Millisecond || d > 6*time.Second {
			t.Fatalf("cut after %v, want about 2s", d)
		}
	})
	t.Run("1 MB/s for 5 s", func(t *testing.T) {
		t.Parallel()
		const size, chunk = 5 << 20, 64 << 10
		conn, err := net.Dial("tcp", fast.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		io.WriteString(conn, patch(fast, size))
		buf := make([]byte, chunk)
		for sent := 0; sent < size; sent += chunk {
			if _, err := conn.Write(buf); err != nil {
				t.Fatalf("cut after %d bytes: %v", sent, err)
			}
			time.Sleep(time.Until(start.Add(time.Duration(sent+chunk) * time.Second / (1 << 20))))
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("after %v: %v %v", time.Since(start), resp, err)
		}
		t.Logf("%d MiB at 1 MiB/s took %v", size>>20, time.Since(start).Round(time.Millisecond))
	})
	t.Run("default: nothing for 60s is cut", func(t *testing.T) {
		t.Parallel()
		srv := testserver.Start(t, testserver.Options{})
		srv.CreateRegistry(t, "slow", "slowreg", "Premium")
		d := cutAfter(srv, patch(srv, 1<<20), func(io.Writer) error { return nil })
		t.Logf("cut after %v", d.Round(time.Millisecond))
		if d > 60*time.Second {
			t.Fatalf("cut after %v", d)
		}
	})
}
