package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// discardGetLoad GETs path from n connections for d, like goGetLoad, but
// each response body is dropped inside the kernel (recv with MSG_TRUNC on
// TCP skips the copy to user space). A single-stream pull over loopback is
// otherwise capped by the client's own copy, so this variant shows what the
// server can send. Bodies were verified once by checkGet before the loads.
func discardGetLoad(ctx context.Context, t *target, path string, n int, d time.Duration, size int64) measurement {
	conns := make([]*discardConn, n)
	for i := range conns {
		c, err := dialDiscard(ctx, t)
		if err != nil {
			return measurement{err: err}
		}
		defer c.Close()
		conns[i] = c
	}
	return runWorkers(ctx, n, d, func(ctx context.Context, w, _ int) (int64, error) {
		return conns[w].get(t, path, size)
	})
}

// discardConn is one keep-alive HTTP/1.1 connection whose bodies are
// discarded in the kernel.
type discardConn struct {
	*net.TCPConn
	raw syscall.RawConn
	br  *bufio.Reader
	// sink only sizes each recv: with MSG_TRUNC the kernel never writes it.
	sink []byte
}

func dialDiscard(ctx context.Context, t *target) (*discardConn, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", t.base.Host)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	raw, err := tc.SyscallConn()
	if err != nil {
		tc.Close()
		return nil, err
	}
	return &discardConn{TCPConn: tc, raw: raw, br: bufio.NewReaderSize(tc, 16<<10), sink: make([]byte, 8<<20)}, nil
}

// get sends one GET and drops its body of exactly size bytes.
func (c *discardConn) get(t *target, path string, size int64) (int64, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + t.base.Host + "\r\n"
	if t.auth != "" {
		req += "Authorization: " + t.auth + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		return 0, fmt.Errorf("GET %s: %d, %d bytes", path, resp.StatusCode, resp.ContentLength)
	}
	// Body bytes that arrived with the header are already in the buffer.
	left := size - int64(c.br.Buffered())
	if _, err := c.br.Discard(c.br.Buffered()); err != nil {
		return 0, err
	}
	for left > 0 {
		var n int
		var rerr error
		want := c.sink[:min(left, int64(len(c.sink)))]
		err := c.raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), want, syscall.MSG_TRUNC)
			return !errors.Is(rerr, syscall.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("GET %s: connection closed with %d bytes left", path, left)
		}
		left -= int64(n)
	}
	return size, nil
}
