package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// pipelineAPIVersion is the api-version of the transfer commands:
// pipelines and their runs exist only in preview api-versions
// (acr-api.md §6), and az's acrtransfer extension speaks this one.
const pipelineAPIVersion = "2021-06-01-preview"

// pipelineKind is what differs between export and import pipelines.
type pipelineKind struct {
	command  string   // export-pipeline
	segment  string   // exportPipelines, the child path under the registry
	noun     string   // Export pipeline, for messages
	endpoint string   // target or source, the storage end in properties
	options  []string // the options az allows for this kind
	table    []column // az's table transformer
}

var (
	exportPipelines = pipelineKind{
		command: "export-pipeline", segment: "exportPipelines", noun: "Export pipeline", endpoint: "target",
		options: []string{"OverwriteBlobs", "ContinueOnErrors"},
		table:   []column{{"NAME", "name", nil}, {"PROVISIONING_STATE", "provisioningState", nil}, {"STORAGE_ACCOUNT", "target.uri", nil}},
	}
	importPipelines = pipelineKind{
		command: "import-pipeline", segment: "importPipelines", noun: "Import pipeline", endpoint: "source",
		options: []string{"OverwriteTags", "DeleteSourceBlobOnSuccess", "ContinueOnErrors"},
		table: []column{{"NAME", "name", nil}, {"PROVISIONING_STATE", "provisioningState", nil}, {"STORAGE_ACCOUNT", "source.uri", nil},
			{"SOURCE_TRIGGER", "trigger.sourceTrigger.status", nil}},
	}
)

// pipelineCommands are the commands of az's acrtransfer extension, added
// to `bulkhead acr`.
func (s *state) pipelineCommands() []*cobra.Command {
	return []*cobra.Command{s.pipelineGroup(exportPipelines), s.pipelineGroup(importPipelines), s.pipelineRun()}
}

// registryRef is -r/-g: the registry a transfer command works in.
type registryRef struct{ registry, rg string }

func (r *registryRef) flags(c *cobra.Command) {
	c.Flags().StringVarP(&r.registry, "registry", "r", "", "name of the registry")
	c.Flags().StringVarP(&r.rg, "resource-group", "g", "", "name of the registry's resource group (default: found by registry name)")
}

// resolve signs in and finds the registry id.
func (r *registryRef) resolve(s *state) (*conn, string, error) {
	if r.registry == "" {
		return nil, "", errors.New("the following arguments are required: --registry/-r")
	}
	c, err := s.conn()
	if err != nil {
		return nil, "", err
	}
	id, err := c.findRegistry(r.registry, r.rg)
	if err != nil {
		return nil, "", err
	}
	if r.rg == "" {
		r.rg = groupOf(id)
	}
	return c, id, nil
}

// groupOf is the resource group named in a resource id.
func groupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// childNotFound is az's message for a missing pipeline or run; it still
// counts as a 404 (exit code 3).
type childNotFound struct {
	msg   string
	cause error
}

func (e *childNotFound) Error() string { return e.msg }
func (e *childNotFound) Unwrap() error { return e.cause }

// getChild GETs a registry child, with az's message when it is missing.
func (c *conn) getChild(id, noun, name string, r *registryRef) ([]byte, error) {
	b, err := c.do(http.MethodGet, id+"?api-version="+pipelineAPIVersion, nil)
	if NotFound(err) {
		return nil, &childNotFound{msg: fmt.Sprintf("%s %s not found on registry %s in the %s resource group.", noun, name, r.registry, r.rg), cause: err}
	}
	return b, err
}

// listChildren GETs a registry child collection, flattened, following
// nextLink.
func (c *conn) listChildren(path string) ([]any, error) {
	out := []any{}
	next := path + "?api-version=" + pipelineAPIVersion
	for next != "" {
		b, err := c.do(http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    []json.RawMessage
			NextLink string
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			m, err := flatten(v)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		next = page.NextLink
	}
	return out, nil
}

func (s *state) pipelineGroup(k pipelineKind) *cobra.Command {
	root := &cobra.Command{Use: k.command, Short: "Manage " + strings.ToLower(k.noun) + "s (az acrtransfer)"}
	var ref registryRef
	var name, uri, secret, identity, trigger string
	var options []string
	nameFlag := func(c *cobra.Command) {
		ref.flags(c)
		c.Flags().StringVarP(&name, "name", "n", "", "name of the "+strings.ToLower(k.noun))
	}
	withName := func(run func(c *conn, id string) error) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error {
			if name == "" {
				return errors.New("the following arguments are required: --name/-n")
			}
			c, reg, err := ref.resolve(s)
			if err != nil {
				return err
			}
			return run(c, reg+"/"+k.segment+"/"+name)
		}
	}
	create := &cobra.Command{Use: "create", Short: "Create " + article(k.noun), RunE: withName(func(c *conn, id string) error {
		body, err := pipelineBody(k, uri, secret, identity, trigger, options)
		if err != nil {
			return err
		}
		reg, err := c.do(http.MethodGet, strings.TrimSuffix(id, "/"+k.segment+"/"+name)+"?api-version="+acrAPIVersion, nil)
		if err != nil {
			return err
		}
		var r struct{ Location string }
		json.Unmarshal(reg, &r)
		body["location"] = r.Location
		b, err := c.do(http.MethodPut, id+"?api-version="+pipelineAPIVersion, body)
		if err != nil {
			return err
		}
		return s.printFlat(b, k.table)
	})}
	nameFlag(create)
	create.Flags().StringVarP(&uri, "storage-container-uri", "c", "", "storage container URI, https://$account.blob.core.windows.net/$container, or file:///abs/dir for a local directory (Bulkhead)")
	create.Flags().StringVarP(&secret, "secret-uri", "s", "", "Key Vault secret URI holding the container's SAS token, https://$vault.vault.azure.net/secrets/$secret (not needed for file://)")
	create.Flags().StringVarP(&identity, "assign-identity", "i", "", "user-assigned identity resource id, or [system] (default) for a system-assigned identity")
	create.Flags().StringArrayVarP(&options, "options", "z", nil, "space-separated options: "+strings.Join(k.options, ", "))
	if k.endpoint == "source" {
		create.Flags().StringVarP(&trigger, "source-trigger-enabled", "e", "true", "whether new blobs in the container start import runs: true or false")
	}
	takeListArgs(create, "options")
	show := &cobra.Command{Use: "show", Short: "Show " + article(k.noun), RunE: withName(func(c *conn, id string) error {
		b, err := c.getChild(id, k.noun, name, &ref)
		if err != nil {
			return err
		}
		return s.printFlat(b, k.table)
	})}
	nameFlag(show)
	del := &cobra.Command{Use: "delete", Short: "Delete " + article(k.noun), RunE: withName(func(c *conn, id string) error {
		if _, err := c.getChild(id, k.noun, name, &ref); err != nil {
			return err
		}
		_, err := c.do(http.MethodDelete, id+"?api-version="+pipelineAPIVersion, nil)
		return err
	})}
	nameFlag(del)
	list := &cobra.Command{Use: "list", Short: "List the " + strings.ToLower(k.noun) + "s of a registry", RunE: func(*cobra.Command, []string) error {
		c, reg, err := ref.resolve(s)
		if err != nil {
			return err
		}
		items, err := c.listChildren(reg + "/" + k.segment)
		if err != nil {
			return err
		}
		return s.printTable(items, k.table)
	}}
	ref.flags(list)
	root.AddCommand(create, show, del, list)
	return root
}

func article(noun string) string {
	if strings.ContainsRune("AEIOUaeiou", rune(noun[0])) {
		return "an " + strings.ToLower(noun)
	}
	return "a " + strings.ToLower(noun)
}

// pipelineBody is the PUT body of a pipeline, less its location.
func pipelineBody(k pipelineKind, uri, secret, identity, trigger string, options []string) (map[string]any, error) {
	if uri == "" {
		return nil, errors.New("the following arguments are required: --storage-container-uri/-c")
	}
	local := strings.HasPrefix(strings.ToLower(uri), "file://")
	if secret == "" && !local {
		return nil, errors.New("the following arguments are required: --secret-uri/-s (only a file:// container needs none)")
	}
	end := map[string]any{"type": "AzureStorageBlobContainer", "uri": uri}
	if secret != "" {
		end["keyVaultUri"] = secret
	}
	props := map[string]any{k.endpoint: end}
	if len(options) > 0 {
		opts := make([]string, 0, len(options))
		for _, o := range options {
			canon, ok := oneOf(o, k.options)
			if !ok {
				return nil, fmt.Errorf("invalid option '%s' in --options: allowed options are %s", o, strings.Join(k.options, ", "))
			}
			opts = append(opts, canon)
		}
		props["options"] = opts
	}
	if k.endpoint == "source" {
		on, err := threeState(trigger)
		if err != nil {
			return nil, fmt.Errorf("argument --source-trigger-enabled/-e: %w", err)
		}
		status := "Enabled"
		if !on {
			status = "Disabled"
		}
		props["trigger"] = map[string]any{"sourceTrigger": map[string]any{"status": status}}
	}
	id := map[string]any{"type": "SystemAssigned"}
	if identity != "" && !strings.EqualFold(identity, "[system]") {
		if !strings.Contains(strings.ToLower(identity), "/providers/microsoft.managedidentity/userassignedidentities/") {
			return nil, fmt.Errorf("argument --assign-identity/-i: '%s' is not a user-assigned identity resource id (/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…) nor [system]", identity)
		}
		id = map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{identity: map[string]any{}}}
	}
	return map[string]any{"identity": id, "properties": props}, nil
}

// oneOf finds v among allowed, in any casing, and returns its canonical
// spelling.
func oneOf(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

// threeState parses az's boolean argument words.
func threeState(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid choice: '%s' (choose from 'false', 'true')", v)
}

// column is one column of az's table transformer: a header, the dotted
// path of its value in the flattened resource, and an optional rewrite
// of the value.
type column struct {
	head, path string
	fix        func(string) string
}

// printFlat prints one resource the way the SDK-based az commands do:
// properties lifted to the top level, plus resourceGroup.
func (s *state) printFlat(b []byte, cols []column) error {
	m, err := flatten(b)
	if err != nil {
		return err
	}
	return s.printTable(m, cols)
}

// printTable prints v; -o table without --query uses the transformer's
// columns in their order, as az does.
func (s *state) printTable(v any, cols []column) error {
	if s.format != "table" || s.query != "" {
		return printer{format: s.format, query: s.query, out: s.out}.print(v)
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	rows := make([][]string, 0, len(items)+2)
	heads, dashes := make([]string, len(cols)), make([]string, len(cols))
	width := make([]int, len(cols))
	for i, c := range cols {
		heads[i], width[i] = c.head, len(c.head)
	}
	rows = append(rows, heads, dashes)
	for _, it := range items {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = scalar(lookup(it, c.path))
			if c.fix != nil {
				row[i] = c.fix(row[i])
			}
			width[i] = max(width[i], len(row[i]))
		}
		rows = append(rows, row)
	}
	for i := range cols {
		dashes[i] = strings.Repeat("-", width[i])
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(cell + strings.Repeat(" ", width[i]-len(cell)))
		}
		fmt.Fprintln(s.out, strings.TrimRight(b.String(), " "))
	}
	return nil
}

// lookup follows a dotted path through nested objects; nil when absent.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// takeListArgs lets the list flag named list take every word up to the
// next flag, as az's nargs='+' does (`--options OverwriteBlobs
// ContinueOnErrors`, `--artifacts a:1 b:2 --force-redeploy`). Parsing
// stops at the first word that is no flag's value; if the flag parsed
// just before it is the list flag, the words up to the next flag are
// its values, and parsing goes on from there. Any other stray word is an
// error, as in az.
func takeListArgs(c *cobra.Command, list string) {
	fs := c.Flags()
	fs.SetInterspersed(false)
	var last string
	fs.VisitAll(func(f *pflag.Flag) {
		f.Value = lastSet{Value: f.Value, name: f.Name, last: &last}
		if f.DefValue == "[]" {
			f.DefValue = "" // help would print "(default [])" for the wrapped list
		}
	})
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		for len(args) > 0 {
			if last != list || strings.HasPrefix(args[0], "-") {
				return fmt.Errorf("unrecognized arguments: %s", strings.Join(args, " "))
			}
			i := 0
			for ; i < len(args) && !strings.HasPrefix(args[i], "-"); i++ {
				if err := fs.Set(list, args[i]); err != nil {
					return err
				}
			}
			if err := fs.Parse(args[i:]); errors.Is(err, pflag.ErrHelp) {
				return cmd.Help()
			} else if err != nil {
				return err
			}
			args = fs.Args()
		}
		return run(cmd, nil)
	}
}

// lastSet records the name of the flag set last.
type lastSet struct {
	pflag.Value
	name string
	last *string
}

func (l lastSet) Set(v string) error {
	*l.last = l.name
	return l.Value.Set(v)
}

// warn writes az's WARNING: lines.
func warn(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "WARNING: "+format+"\n", args...)
}
