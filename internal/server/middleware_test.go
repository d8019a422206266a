package server

import (
	"context"
	"log/slog"
	"testing"
)

// A server fault is logged at ERROR; a request whose client went away is
// logged at INFO whatever it was answered, and so is every other answer.
func TestLogLevel(t *testing.T) {
	for _, c := range []struct {
		status int
		ctxErr error
		want   slog.Level
	}{
		{200, nil, slog.LevelInfo},
		{401, nil, slog.LevelInfo},
		{500, nil, slog.LevelError},
		{503, context.DeadlineExceeded, slog.LevelError},
		{500, context.Canceled, slog.LevelInfo},
		{499, context.Canceled, slog.LevelInfo},
	} {
		if got := logLevel(c.status, c.ctxErr); got != c.want {
			t.Errorf("status %d, context %v: %v, want %v", c.status, c.ctxErr, got, c.want)
		}
	}
}
