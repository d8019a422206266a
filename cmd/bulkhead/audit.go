package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/spf13/cobra"
)

// auditCommand is `bulkhead audit`: offline checks of a copy of the audit
// trail. It reads files or a storage account, never a running server, so
// a copy can be checked anywhere.
func auditCommand(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "audit", Short: "Check copies of the audit trail offline"}
	var keyFile, output string
	verify := &cobra.Command{
		Use:   "verify <dir | storage URL>",
		Short: "Verify the hash chains and signed checkpoints of an audit trail copy",
		Long: `Verify checks every chain in a copy of the audit trail: a directory laid out
as <data>/audit is (or a diagnostic setting's local storage account), or an
Azure storage account or container URL with a SAS token. It names the first
record that was altered, removed or moved, and exits 1 when there is one.

The public key comes from --public-key; for a directory without it, from the
directory's public-key.pem (pin the key you trust with --public-key: a copy's
own key proves nothing to someone who may have replaced both).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			var src audit.Source
			keyPath := keyFile
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
				var err error
				if src, err = audit.BlobSource(target); err != nil {
					return err
				}
			} else {
				if _, err := os.Stat(target); err != nil {
					return fmt.Errorf("audit copy: %w", err)
				}
				src = audit.DirSource(target)
				if keyPath == "" {
					if _, err := os.Stat(filepath.Join(target, audit.PublicKeyFile)); err == nil {
						keyPath = filepath.Join(target, audit.PublicKeyFile)
					}
				}
			}
			var pub []byte
			if keyPath != "" {
				var err error
				if pub, err = os.ReadFile(keyPath); err != nil {
					return fmt.Errorf("public key: %w", err)
				}
			}
			rep, err := verifyCopy(cmd, src, pub)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				enc.Encode(rep)
			} else {
				printReport(stdout, rep)
			}
			if rep.Problem != nil {
				return errors.New("the audit trail copy was tampered with: " + rep.Problem.Error())
			}
			return nil
		},
	}
	verify.Flags().StringVar(&keyFile, "public-key", "", "PEM file of the audit key's public half (<data>/audit/public-key.pem)")
	verify.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	root.AddCommand(verify)
	return root
}

func verifyCopy(cmd *cobra.Command, src audit.Source, pubPEM []byte) (audit.Report, error) {
	if pubPEM == nil {
		return audit.Verify(cmd.Context(), src, nil)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		return audit.Report{}, fmt.Errorf("public key: %w", err)
	}
	return audit.Verify(cmd.Context(), src, pub)
}

func printReport(w io.Writer, rep audit.Report) {
	fmt.Fprintf(w, "streams: %d  records: %d  checkpoints: %d  restarts: %d  gaps: %d  unsealed: %d\n",
		rep.Streams, rep.Records, rep.Checkpoints, rep.Restarts, rep.Gaps, rep.Unsealed)
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if p := rep.Problem; p != nil {
		fmt.Fprintf(w, "TAMPERED: %s record %d of %s\n  at %s line %d\n  %s\n", p.Kind, p.Seq, p.Stream, p.File, p.Line, p.Message)
		return
	}
	fmt.Fprintln(w, "OK: every chain is intact")
}
