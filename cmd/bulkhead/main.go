// Command bulkhead is the Bulkhead server (`bulkhead serve`) and, later,
// its az-style client commands. This file only wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Bulkhead: a self-hosted container registry service that speaks Azure Container Registry.

Usage:
  bulkhead serve [flags]     run the server (bulkhead serve -h lists the flags)
  bulkhead version           print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		err := serve(ctx, args[1:], stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "bulkhead serve: %v\n", err)
			return 2
		default:
			fmt.Fprintf(stderr, "bulkhead serve: %v\n", err)
			return 1
		}
	case "version", "--version":
		fmt.Fprintln(stdout, "bulkhead", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bulkhead: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// usageError marks a configuration problem (exit code 2).
type usageError struct{ error }

func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
