package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// runTable is az's table transformer for pipeline runs.
var runTable = []column{
	{"NAME", "name", nil},
	{"PIPELINE", "request.pipelineResourceId", func(s string) string { return s[strings.LastIndex(s, "/")+1:] }},
	{"START_TIME", "response.startTime", func(s string) string { s, _, _ = strings.Cut(s, "."); return s }},
	{"STATUS", "response.status", nil},
	{"ERROR_MESSAGE", "response.pipelineRunErrorMessage", nil},
}

// waitTiming is how --wait polls and reports.
type waitTiming struct {
	poll     time.Duration // between GETs of the run
	lines    time.Duration // between plain progress lines (not a terminal)
	failures int           // transient failures in a row before giving up
}

func (s *state) pipelineRun() *cobra.Command {
	root := &cobra.Command{Use: "pipeline-run", Short: "Manage pipeline runs (az acrtransfer)"}
	var ref registryRef
	var name, pipeline, ptype, blob string
	var artifacts []string
	var force, wait, dryRun bool
	var top int
	wt := waitTiming{lines: 5 * time.Second, failures: 30}
	nameFlag := func(c *cobra.Command) {
		ref.flags(c)
		c.Flags().StringVarP(&name, "name", "n", "", "name of the pipeline run")
	}
	withName := func(run func(cmd *cobra.Command, c *conn, id string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("the following arguments are required: --name/-n")
			}
			c, reg, err := ref.resolve(s)
			if err != nil {
				return err
			}
			return run(cmd, c, reg+"/pipelineRuns/"+name)
		}
	}
	create := &cobra.Command{Use: "create", Short: "Start a pipeline run (--wait to follow it to the end)", RunE: func(cmd *cobra.Command, args []string) error {
		if pipeline == "" || ptype == "" || blob == "" {
			return errors.New("the following arguments are required: --pipeline/-p, --pipeline-type/-t, --storage-blob/-b")
		}
		kind, ok := map[string]pipelineKind{"export": exportPipelines, "import": importPipelines}[strings.ToLower(ptype)]
		if !ok {
			return fmt.Errorf("invalid pipeline type '%s': must be import or export", ptype)
		}
		if kind.endpoint == "target" && len(artifacts) == 0 {
			return errors.New("artifacts cannot be null for Export PipelineRuns. Please provide a space-separated list of container images to be exported in the form REPOSITORY:TAG or REPOSITORY@sha256:…")
		}
		if kind.endpoint == "source" && len(artifacts) > 0 {
			return errors.New("--artifacts is for export runs: an import run imports what its blob holds")
		}
		return withName(func(cmd *cobra.Command, c *conn, id string) error {
			reg := strings.TrimSuffix(id, "/pipelineRuns/"+name)
			pb, err := c.getChild(reg+"/"+kind.segment+"/"+pipeline, kind.noun, pipeline, &ref)
			if err != nil {
				return err
			}
			var pl struct{ ID string }
			json.Unmarshal(pb, &pl)
			body := runBody(kind, pl.ID, blob, artifacts, force)
			b, _, err := c.send(http.MethodPut, c.abs(id+"?api-version="+pipelineAPIVersion), body)
			if err != nil {
				return err
			}
			if !wait {
				return s.printFlat(b, runTable)
			}
			return s.waitRun(cmd, c, id, wt)
		})(cmd, args)
	}}
	nameFlag(create)
	create.Flags().StringVarP(&pipeline, "pipeline", "p", "", "name of the pipeline to run")
	create.Flags().StringVarP(&ptype, "pipeline-type", "t", "", "type of the pipeline: import or export")
	create.Flags().StringVarP(&blob, "storage-blob", "b", "", "name of the storage blob to export to or import from")
	create.Flags().StringArrayVarP(&artifacts, "artifacts", "a", nil, "space-separated artifacts to export: repository:tag or repository@sha256:… (no tag: :latest)")
	create.Flags().BoolVarP(&force, "force-redeploy", "f", false, "run again even if nothing changed (a new forceUpdateTag)")
	create.Flags().BoolVar(&wait, "wait", false, "follow the run to its end, with progress on stderr; exit non-zero if it fails (Bulkhead)")
	create.Flags().DurationVar(&wt.poll, "poll-interval", time.Second, "how often --wait asks for the run")
	create.Flags().MarkHidden("poll-interval")
	takeListArgs(create, "artifacts")
	show := &cobra.Command{Use: "show", Short: "Show a pipeline run", RunE: withName(func(_ *cobra.Command, c *conn, id string) error {
		b, err := c.do(http.MethodGet, id+"?api-version="+pipelineAPIVersion, nil)
		if err != nil {
			return err
		}
		return s.printFlat(b, runTable)
	})}
	nameFlag(show)
	del := &cobra.Command{Use: "delete", Short: "Delete a pipeline run (a run in flight stops)", RunE: withName(func(_ *cobra.Command, c *conn, id string) error {
		if _, err := c.getChild(id, "Pipeline-run", name, &ref); err != nil {
			return err
		}
		_, err := c.do(http.MethodDelete, id+"?api-version="+pipelineAPIVersion, nil)
		return err
	})}
	nameFlag(del)
	list := &cobra.Command{Use: "list", Short: "List the pipeline runs of a registry", RunE: func(*cobra.Command, []string) error {
		if top < 0 {
			return fmt.Errorf("argument --top: '%d' is not a positive integer", top)
		}
		c, reg, err := ref.resolve(s)
		if err != nil {
			return err
		}
		runs, err := c.listChildren(reg + "/pipelineRuns")
		if err != nil {
			return err
		}
		if top > 0 && top < len(runs) {
			runs = runs[len(runs)-top:]
		}
		return s.printTable(runs, runTable)
	}}
	ref.flags(list)
	list.Flags().IntVar(&top, "top", 0, "list only the last n pipeline runs")
	clean := &cobra.Command{Use: "clean", Short: "Delete all failed pipeline runs of a registry", RunE: func(cmd *cobra.Command, _ []string) error {
		c, reg, err := ref.resolve(s)
		if err != nil {
			return err
		}
		return s.cleanRuns(cmd, c, reg, dryRun)
	}}
	ref.flags(clean)
	clean.Flags().BoolVar(&dryRun, "dry-run", false, "list the failed pipeline runs that would be deleted, but delete none")
	root.AddCommand(create, show, del, list, clean)
	return root
}

// runBody is the PUT body of a run of the pipeline pid.
func runBody(kind pipelineKind, pid, blob string, artifacts []string, force bool) map[string]any {
	req := map[string]any{"pipelineResourceId": pid}
	if kind.endpoint == "target" {
		arts := make([]string, len(artifacts))
		for i, a := range artifacts {
			if !strings.ContainsAny(a, ":@") {
				a += ":latest" // as az does
			}
			arts[i] = a
		}
		req["target"] = map[string]any{"type": "AzureStorageBlob", "name": blob}
		req["artifacts"] = arts
	} else {
		req["source"] = map[string]any{"type": "AzureStorageBlob", "name": blob}
	}
	props := map[string]any{"request": req}
	if force {
		props["forceUpdateTag"] = uuid.NewString()
	}
	return map[string]any{"properties": props}
}

// runDoc is what --wait reads of a run.
type runDoc struct {
	Properties struct {
		ProvisioningState string
		Response          struct {
			Status                  string
			Progress                *runProgress
			PipelineRunErrorMessage string
		}
	}
}

// status is the run's status: response.status, else the provisioning
// state.
func (r runDoc) status() string {
	if st := r.Properties.Response.Status; st != "" {
		return st
	}
	return r.Properties.ProvisioningState
}

func ended(status string) bool {
	for _, s := range []string{"Succeeded", "Failed", "Canceled"} {
		if strings.EqualFold(status, s) {
			return true
		}
	}
	return false
}

// waitRun polls the run until it ends, drawing its progress on stderr,
// then prints it; a run that did not succeed is an error carrying its
// pipelineRunErrorMessage.
func (s *state) waitRun(cmd *cobra.Command, c *conn, id string, t waitTiming) error {
	bar := newProgressBar(cmd.ErrOrStderr(), t.lines)
	failures := 0
	for {
		b, _, err := c.send(http.MethodGet, c.abs(id+"?api-version="+pipelineAPIVersion), nil)
		if err != nil {
			if failures++; transient(err) && failures < t.failures {
				time.Sleep(t.poll)
				continue
			}
			return err
		}
		failures = 0
		var run runDoc
		if err := json.Unmarshal(b, &run); err != nil {
			return fmt.Errorf("pipeline run: %w", err)
		}
		st := run.status()
		done := ended(st)
		p := runProgress{Percentage: -1}
		if run.Properties.Response.Progress != nil {
			p = *run.Properties.Response.Progress
		}
		if done && strings.EqualFold(st, "Succeeded") {
			p.Percentage = 100
		}
		bar.update(p, st, done)
		if !done {
			time.Sleep(t.poll)
			continue
		}
		if err := s.printFlat(b, runTable); err != nil {
			return err
		}
		if strings.EqualFold(st, "Succeeded") {
			return nil
		}
		if msg := run.Properties.Response.PipelineRunErrorMessage; msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("the pipeline run %s ended %s", id[strings.LastIndex(id, "/")+1:], st)
	}
}

// transient reports errors worth another poll: the network, a server
// restarting, throttling.
func transient(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	}
	var ne net.Error // *url.Error and *net.OpError: refused, reset, EOF, timeouts
	return errors.As(err, &ne)
}

// cleanRuns deletes the registry's failed runs (provisioningState
// Failed), as az's `pipeline-run clean` does, with its warnings.
func (s *state) cleanRuns(cmd *cobra.Command, c *conn, reg string, dryRun bool) error {
	runs, err := c.listChildren(reg + "/pipelineRuns")
	if err != nil {
		return err
	}
	failed := []any{}
	for _, r := range runs {
		if st, _ := lookup(r, "provisioningState").(string); strings.EqualFold(st, "Failed") {
			failed = append(failed, r)
		}
	}
	stderr := cmd.ErrOrStderr()
	warn(stderr, "Found %d failed pipeline-runs to delete.", len(failed))
	if dryRun {
		warn(stderr, "The following failed pipeline-runs would have been deleted:")
		return s.printTable(failed, runTable)
	}
	deleted, errs := 0, 0
	var first error
	for _, r := range failed {
		name, _ := lookup(r, "name").(string)
		if _, err := c.do(http.MethodDelete, reg+"/pipelineRuns/"+name+"?api-version="+pipelineAPIVersion, nil); err != nil {
			errs++
			if first == nil {
				first = fmt.Errorf("deleting pipeline run %s: %w", name, err)
			}
			continue
		}
		if deleted++; deleted%100 == 0 {
			warn(stderr, "Deletion in progress: Deleted %d/%d failed pipeline-runs. %d deletions failed.", deleted, len(failed), errs)
		}
	}
	warn(stderr, "Deletion complete: Deleted %d failed pipeline-runs.", deleted)
	warn(stderr, "%d deletions failed.", errs)
	return first
}
