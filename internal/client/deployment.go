package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func (s *state) deployment() *cobra.Command {
	root := &cobra.Command{Use: "deployment", Short: "Manage ARM template deployments"}
	s.flags(root)
	group := &cobra.Command{Use: "group", Short: "Deployments at resource-group scope"}
	var rg, name, file string
	var params []string
	base := func(c *conn) string {
		return "/subscriptions/" + c.p.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.Resources/deployments"
	}
	create := &cobra.Command{Use: "create", Short: "Deploy a template (validate, then PUT)", RunE: func(*cobra.Command, []string) error {
		if rg == "" || file == "" {
			return errors.New("--resource-group and --template-file are required")
		}
		tmpl, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
		p := map[string]any{}
		for _, kv := range params {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return errors.New("--parameters expects key=value")
			}
			p[k] = map[string]any{"value": jsonOrString(v)}
		}
		pj, _ := json.Marshal(map[string]any{"parameters": p, "mode": "Incremental"})
		// Like az, splice the template file verbatim (comments allowed).
		body := append([]byte(`{"properties": `), pj[:len(pj)-1]...)
		body = append(append(append(body, []byte(`, "template": `)...), tmpl...), []byte("}}")...)
		c, err := s.conn()
		if err != nil {
			return err
		}
		if _, err := c.do(http.MethodPost, base(c)+"/"+name+"/validate?api-version=2021-04-01", body); err != nil {
			return err
		}
		b, err := c.do(http.MethodPut, base(c)+"/"+name+"?api-version=2021-04-01", body)
		if err != nil {
			return err
		}
		return s.print(b)
	}}
	create.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	create.Flags().StringVarP(&name, "name", "n", "", "deployment name (default: the file's base name)")
	create.Flags().StringVarP(&file, "template-file", "f", "", "template file (JSON with comments)")
	create.Flags().StringArrayVarP(&params, "parameters", "p", nil, "key=value")
	show := &cobra.Command{Use: "show", Short: "Show a deployment", RunE: func(*cobra.Command, []string) error {
		c, err := s.conn()
		if err != nil {
			return err
		}
		b, err := c.do(http.MethodGet, base(c)+"/"+name+"?api-version=2021-04-01", nil)
		if err != nil {
			return err
		}
		return s.print(b)
	}}
	show.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	show.Flags().StringVarP(&name, "name", "n", "", "deployment name")
	list := &cobra.Command{Use: "list", Short: "List deployments", RunE: func(*cobra.Command, []string) error {
		c, err := s.conn()
		if err != nil {
			return err
		}
		b, err := c.do(http.MethodGet, base(c)+"?api-version=2021-04-01", nil)
		if err != nil {
			return err
		}
		return s.print(valueOf(b))
	}}
	list.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	group.AddCommand(create, show, list)
	root.AddCommand(group)
	return root
}
