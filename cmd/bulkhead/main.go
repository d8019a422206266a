// Command bulkhead is the Bulkhead server (`bulkhead serve`) and its
// az-style client commands (login, resource, acr, deployment). This file
// only wires packages together.
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
	"strings"
	"syscall"

	"github.com/bulkhead-registry/bulkhead/internal/client"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks a configuration problem (exit code 2).
type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "bulkhead",
		Short:         "Bulkhead: a self-hosted container registry service that speaks Azure Container Registry",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(&cobra.Command{
		Use:                "serve",
		Short:              "Run the server (bulkhead serve -h lists the flags)",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return serve(ctx, args, stderr)
		},
	}, &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(stdout, "bulkhead", version) },
	})
	root.AddCommand(auditCommand(stdout))
	root.AddCommand(client.Commands(stdout)...)
	err := root.Execute()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "bulkhead serve: %v\n", err)
		return 2
	case len(args) > 0 && args[0] == "serve":
		fmt.Fprintf(stderr, "bulkhead serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "ERROR: %v\n", err)
	if client.NotFound(err) {
		return 3
	}
	if isUsage(err) {
		return 2
	}
	return 1
}

// isUsage reports cobra's argument and flag errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
