package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// logQueryAPIVersion is the api-version of Bulkhead's audit log query.
const logQueryAPIVersion = "2021-05-01-preview"

// monitor is `bulkhead monitor`: the audit trail as az monitor shows
// Azure's logs, read through the server's log query (a Bulkhead
// extension, since Log Analytics' KQL is not served).
func (s *state) monitor() *cobra.Command {
	root := &cobra.Command{Use: "monitor", Short: "Query the audit trail: resource logs and the activity log"}
	s.flags(root)
	logs := &cobra.Command{Use: "log", Short: "Audit records"}
	var f logFilter
	query := &cobra.Command{
		Use:   "query",
		Short: "List audit records filtered by registry, time, identity, operation, repository and result",
		Example: `  bulkhead monitor log query --registry myregistry -g myResourceGroup --since 24h --operation Pull -o table
  bulkhead monitor log query --category ContainerRegistryLoginEvents --result Failed --since 7d`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.conn()
			if err != nil {
				return err
			}
			path, err := f.path(c.p.SubscriptionID)
			if err != nil {
				return err
			}
			b, err := c.do("GET", path, nil)
			if err != nil {
				return err
			}
			if s.format == "table" && s.query == "" {
				return printRecords(s, b)
			}
			return s.print(b)
		},
	}
	fl := query.Flags()
	fl.StringVarP(&f.registry, "registry", "r", "", "registry name (with --resource-group)")
	fl.StringVarP(&f.group, "resource-group", "g", "", "resource group of --registry")
	fl.StringVar(&f.resourceID, "resource-id", "", "a resource id: a registry, or a subscription for the activity log")
	fl.StringVar(&f.category, "category", "", "ContainerRegistryRepositoryEvents, ContainerRegistryLoginEvents, Administrative or SignInLogs")
	fl.StringVar(&f.since, "since", "24h", "start: a duration back from now (90m, 24h, 7d) or an RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "end (exclusive): a duration back from now or an RFC 3339 time; default now")
	fl.StringVar(&f.identity, "identity", "", "principal object id, client id, token name or admin user")
	fl.StringVar(&f.operation, "operation", "", "Pull, Push, Delete, Untag, importImage, pipelineRun, Login, or an RBAC action")
	fl.StringVar(&f.repository, "repository", "", "repository name")
	fl.StringVar(&f.result, "result", "", "Succeeded, Failed, or an HTTP status such as 403")
	fl.IntVar(&f.top, "top", 1000, "most records to return (newest kept), at most 10000")
	logs.AddCommand(query)
	root.AddCommand(logs)
	return root
}

type logFilter struct {
	registry, group, resourceID, category, since, until string
	identity, operation, repository, result             string
	top                                                 int
}

// path is the query's request path.
func (f *logFilter) path(sub string) (string, error) {
	if sub == "" {
		return "", fmt.Errorf("no subscription: run bulkhead login first")
	}
	q := url.Values{"api-version": {logQueryAPIVersion}}
	switch {
	case f.registry != "" && f.group == "":
		return "", errors.New("--registry needs --resource-group")
	case f.registry != "":
		q.Set("resourceId", "/subscriptions/"+sub+"/resourceGroups/"+f.group+"/providers/Microsoft.ContainerRegistry/registries/"+f.registry)
	case f.resourceID != "":
		q.Set("resourceId", f.resourceID)
	}
	now := time.Now().UTC()
	for _, b := range []struct{ name, v string }{{"since", f.since}, {"until", f.until}} {
		if b.v == "" {
			continue
		}
		t, err := parseWhen(b.v, now)
		if err != nil {
			return "", fmt.Errorf("--%s %q: %v", b.name, b.v, err)
		}
		q.Set(b.name, t.Format(time.RFC3339Nano))
	}
	for k, v := range map[string]string{"category": f.category, "identity": f.identity, "operation": f.operation, "repository": f.repository, "result": f.result} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.top < 1 || f.top > 10000 {
		return "", errors.New("--top must be between 1 and 10000")
	}
	q.Set("$top", strconv.Itoa(f.top))
	return "/subscriptions/" + sub + "/providers/Microsoft.Insights/bulkheadAuditLogs?" + q.Encode(), nil
}

// parseWhen reads "7d", "36h", "90m" (back from now) or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return time.Time{}, fmt.Errorf("want a number of days, such as 7d")
		}
		return now.AddDate(0, 0, -n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("want a duration such as 90m, 24h or 7d, or an RFC 3339 time")
	}
	return now.Add(-d), nil
}

// printRecords renders audit records as a table, one line each.
func printRecords(s *state, b []byte) error {
	var page struct {
		Value []struct {
			Time              time.Time `json:"time"`
			Category          string    `json:"category"`
			OperationName     string    `json:"operationName"`
			ResultType        string    `json:"resultType"`
			ResultDescription string    `json:"resultDescription"`
			Identity          string    `json:"identity"`
			CallerIPAddress   string    `json:"callerIpAddress"`
			Properties        struct {
				Repository string `json:"repository"`
				Tag        string `json:"tag"`
				Digest     string `json:"digest"`
				Size       int64  `json:"size"`
				RefusedBy  string `json:"refusedBy"`
				Target     string `json:"target"`
				Network    string `json:"network"`
			} `json:"properties"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Time\tCategory\tOperation\tResult\tIdentity\tCaller\tNetwork\tWhat\tSize")
	for _, r := range page.Value {
		p := r.Properties
		what := p.Repository
		switch {
		case p.Tag != "":
			what += ":" + p.Tag
		case p.Digest != "":
			what += "@" + shortDigest(p.Digest)
		}
		if what == "" {
			what = lastSegments(p.Target, 2)
		}
		result := r.ResultType + " " + r.ResultDescription
		if p.RefusedBy != "" {
			result += " (" + p.RefusedBy + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.UTC().Format("2006-01-02 15:04:05"), shortCategory(r.Category),
			r.OperationName, result, r.Identity, r.CallerIPAddress, p.Network, what, sizeOrBlank(p.Size))
	}
	return tw.Flush()
}

func shortCategory(c string) string {
	switch c {
	case "ContainerRegistryRepositoryEvents":
		return "Repository"
	case "ContainerRegistryLoginEvents":
		return "Login"
	}
	return c
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func lastSegments(id string, n int) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "/")
}

func sizeOrBlank(n int64) string {
	if n <= 0 {
		return ""
	}
	return humanBytes(n)
}
