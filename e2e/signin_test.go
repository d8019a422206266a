package e2e

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
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
