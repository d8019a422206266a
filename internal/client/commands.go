package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// Commands returns the az-style client commands; out receives results.
func Commands(out io.Writer) []*cobra.Command {
	st := &state{out: out}
	return []*cobra.Command{st.login(), st.resource(), st.acr(), st.deployment(), st.monitor()}
}

// AddOutputFlags adds -o and --query to a command tree.
func (s *state) flags(c *cobra.Command) {
	c.PersistentFlags().StringVarP(&s.format, "output", "o", "json", "output format: json, jsonc, table, tsv, none")
	c.PersistentFlags().StringVar(&s.query, "query", "", "JMESPath query string")
}

type state struct {
	out           io.Writer
	format, query string
}

func (s *state) print(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return printer{format: s.format, query: s.query, out: s.out}.print(v)
}

func (s *state) conn() (*conn, error) {
	p, err := loadProfile()
	if err != nil {
		return nil, err
	}
	return newConn(p)
}

func (s *state) login() *cobra.Command {
	var p Profile
	var bootstrap string
	c := &cobra.Command{
		Use:   "login",
		Short: "Sign in with a service principal (or the bootstrap principal of a data directory)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bootstrap != "" {
				b, err := os.ReadFile(filepath.Join(bootstrap, "bootstrap.json"))
				if err != nil {
					return err
				}
				var boot struct{ TenantID, ClientID, ClientSecret, SubscriptionID string }
				if err := json.Unmarshal(b, &boot); err != nil {
					return err
				}
				p.TenantID, p.ClientID, p.ClientSecret, p.SubscriptionID = boot.TenantID, boot.ClientID, boot.ClientSecret, boot.SubscriptionID
				if ca := filepath.Join(bootstrap, "tls", "ca.pem"); p.CAFile == "" {
					if _, err := os.Stat(ca); err == nil && strings.HasPrefix(p.Endpoint, "https") {
						p.CAFile, _ = filepath.Abs(ca)
					}
				}
			}
			if p.Endpoint == "" || p.TenantID == "" || p.ClientID == "" || p.ClientSecret == "" {
				return errors.New("give --endpoint with --tenant, --username and --password, or --bootstrap <data dir>")
			}
			p.Endpoint = strings.TrimSuffix(p.Endpoint, "/")
			c, err := newConn(&p)
			if err != nil {
				return err
			}
			b, _, err := c.send(http.MethodGet, c.abs("/subscriptions?api-version=2019-11-01"), nil)
			if err != nil {
				return err
			}
			var subs struct{ Value []map[string]any }
			json.Unmarshal(b, &subs)
			if p.SubscriptionID == "" && len(subs.Value) > 0 {
				p.SubscriptionID, _ = subs.Value[0]["subscriptionId"].(string)
			}
			if err := p.save(); err != nil {
				return err
			}
			return printer{format: s.format, query: s.query, out: s.out}.print(toAnyList(subs.Value))
		},
	}
	c.Flags().StringVar(&p.Endpoint, "endpoint", envOr("BULKHEAD_ENDPOINT", ""), "server URL, e.g. https://127.0.0.1:5000")
	c.Flags().StringVarP(&p.TenantID, "tenant", "t", "", "tenant id")
	c.Flags().StringVarP(&p.ClientID, "username", "u", "", "service principal client id")
	c.Flags().StringVarP(&p.ClientSecret, "password", "p", "", "service principal secret")
	c.Flags().StringVar(&p.CAFile, "ca-file", "", "CA certificate to trust (e.g. <data>/tls/ca.pem)")
	c.Flags().StringVar(&bootstrap, "bootstrap", "", "sign in as the bootstrap principal of this data directory")
	s.flags(c)
	return c
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func toAnyList(in []map[string]any) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// resourceID builds an id from -g/-n/--resource-type, or takes --ids.
func (c *conn) resourceID(ids, rg, name, typ string) (string, error) {
	if ids != "" {
		return ids, nil
	}
	if rg == "" || name == "" || typ == "" {
		return "", errors.New("give --ids, or --resource-group, --name and --resource-type")
	}
	ns, t, ok := strings.Cut(typ, "/")
	if !ok {
		return "", fmt.Errorf("--resource-type must be <namespace>/<type>, got %q", typ)
	}
	return "/subscriptions/" + c.p.SubscriptionID + "/resourceGroups/" + rg + "/providers/" + ns + "/" + t + "/" + name, nil
}

// apiVersion picks the newest api-version the provider advertises.
func (c *conn) apiVersion(typ string) (string, error) {
	ns, t, _ := strings.Cut(typ, "/")
	b, _, err := c.send(http.MethodGet, c.abs("/subscriptions/"+c.p.SubscriptionID+"/providers/"+ns+"?api-version=2021-04-01"), nil)
	if err != nil {
		return "", err
	}
	var info struct {
		ResourceTypes []struct {
			ResourceType string
			APIVersions  []string
		}
	}
	json.Unmarshal(b, &info)
	for _, rt := range info.ResourceTypes {
		if strings.EqualFold(rt.ResourceType, t) && len(rt.APIVersions) > 0 {
			v := append([]string(nil), rt.APIVersions...)
			sort.Strings(v)
			return v[len(v)-1], nil
		}
	}
	return "", fmt.Errorf("no api-version found for %s", typ)
}

// genericView prints a resource as `az resource` does.
func genericView(b []byte, rg string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	// az prints the generic resource model: absent fields are null.
	for _, k := range []string{"extendedLocation", "identity", "kind", "managedBy", "plan", "tags"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	if sku, ok := m["sku"].(map[string]any); ok {
		for _, k := range []string{"capacity", "family", "model", "size"} {
			if _, ok := sku[k]; !ok {
				sku[k] = nil
			}
		}
	}
	m["resourceGroup"] = rg
	return json.Marshal(m)
}

func (s *state) resource() *cobra.Command {
	root := &cobra.Command{Use: "resource", Short: "Manage resources by id or name"}
	s.flags(root)
	var ids, rg, name, typ, api string
	var sets, adds, removes []string
	common := func(c *cobra.Command) {
		c.Flags().StringVar(&ids, "ids", "", "resource id")
		c.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
		c.Flags().StringVarP(&name, "name", "n", "", "resource name")
		c.Flags().StringVar(&typ, "resource-type", "", "resource type, e.g. Microsoft.ContainerRegistry/registries")
		c.Flags().StringVar(&api, "api-version", "", "api-version (default: the newest the provider offers)")
	}
	prepare := func() (*conn, string, string, error) {
		c, err := s.conn()
		if err != nil {
			return nil, "", "", err
		}
		id, err := c.resourceID(ids, rg, name, typ)
		if err != nil {
			return nil, "", "", err
		}
		v := api
		if v == "" {
			if v, err = c.apiVersion(typ); err != nil {
				return nil, "", "", err
			}
		}
		return c, id, v, nil
	}
	show := &cobra.Command{Use: "show", Short: "Show a resource", RunE: func(*cobra.Command, []string) error {
		c, id, v, err := prepare()
		if err != nil {
			return err
		}
		b, err := c.do(http.MethodGet, id+"?api-version="+v, nil)
		if err != nil {
			return err
		}
		if b, err = genericView(b, rg); err != nil {
			return err
		}
		return s.print(b)
	}}
	common(show)
	update := &cobra.Command{Use: "update", Short: "Update a resource with --set/--add/--remove (GET, edit, PUT)", RunE: func(*cobra.Command, []string) error {
		c, id, v, err := prepare()
		if err != nil {
			return err
		}
		b, err := c.do(http.MethodGet, id+"?api-version="+v, nil)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		for _, e := range sets {
			if err := setPath(doc, e); err != nil {
				return err
			}
		}
		for _, e := range adds {
			f := strings.Fields(e)
			if len(f) < 2 {
				return fmt.Errorf("--add expects '<path> <value>...'")
			}
			if err := addPath(doc, f[0], f[1:]); err != nil {
				return err
			}
		}
		for _, e := range removes {
			f := strings.Fields(e)
			idx := ""
			if len(f) > 1 {
				idx = f[1]
			}
			if err := removePath(doc, f[0], idx); err != nil {
				return err
			}
		}
		for _, k := range []string{"id", "name", "type", "systemData"} {
			delete(doc, k)
		}
		b, err = c.do(http.MethodPut, id+"?api-version="+v, doc)
		if err != nil {
			return err
		}
		if b, err = genericView(b, rg); err != nil {
			return err
		}
		return s.print(b)
	}}
	common(update)
	update.Flags().StringArrayVar(&sets, "set", nil, "path=value to set (JSON values allowed)")
	update.Flags().StringArrayVar(&adds, "add", nil, "'path value...' to append to a list")
	update.Flags().StringArrayVar(&removes, "remove", nil, "'path [index]' to remove")
	del := &cobra.Command{Use: "delete", Short: "Delete a resource", RunE: func(*cobra.Command, []string) error {
		c, id, v, err := prepare()
		if err != nil {
			return err
		}
		_, err = c.do(http.MethodDelete, id+"?api-version="+v, nil)
		return err
	}}
	common(del)
	list := &cobra.Command{Use: "list", Short: "List resources", RunE: func(*cobra.Command, []string) error {
		c, err := s.conn()
		if err != nil {
			return err
		}
		path := "/subscriptions/" + c.p.SubscriptionID
		if rg != "" {
			path += "/resourceGroups/" + rg
		}
		b, err := c.do(http.MethodGet, path+"/resources?api-version=2021-04-01", nil)
		if err != nil {
			return err
		}
		return s.print(valueOf(b))
	}}
	list.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	root.AddCommand(show, update, del, list)
	return root
}

// valueOf unwraps an ARM list ({"value":[...]}).
func valueOf(b []byte) []byte {
	var l struct{ Value json.RawMessage }
	if json.Unmarshal(b, &l) == nil && l.Value != nil {
		return l.Value
	}
	return b
}
