package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// acrAPIVersion is the registry api-version the acr commands use.
const acrAPIVersion = "2025-11-01"

// flatten prints a registry the way az acr does (the SDK model: properties
// lifted to the top level, plus resourceGroup).
func flatten(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if props, ok := m["properties"].(map[string]any); ok {
		delete(m, "properties")
		for k, v := range props {
			m[k] = v
		}
	}
	if id, ok := m["id"].(string); ok {
		parts := strings.Split(id, "/")
		for i := 0; i+1 < len(parts); i++ {
			if strings.EqualFold(parts[i], "resourceGroups") {
				m["resourceGroup"] = parts[i+1]
			}
		}
	}
	return m, nil
}

// findRegistry resolves -n (and optional -g) to a registry id.
func (c *conn) findRegistry(name, rg string) (string, error) {
	if rg != "" {
		return "/subscriptions/" + c.p.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name, nil
	}
	b, err := c.do(http.MethodGet, "/subscriptions/"+c.p.SubscriptionID+"/providers/Microsoft.ContainerRegistry/registries?api-version="+acrAPIVersion, nil)
	if err != nil {
		return "", err
	}
	var l struct{ Value []struct{ ID, Name string } }
	json.Unmarshal(b, &l)
	for _, r := range l.Value {
		if strings.EqualFold(r.Name, name) {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("the resource with name '%s' and type 'Microsoft.ContainerRegistry/registries' could not be found in subscription '%s'", name, c.p.SubscriptionID)
}

func (s *state) printRegistry(b []byte) error {
	m, err := flatten(b)
	if err != nil {
		return err
	}
	return printer{format: s.format, query: s.query, out: s.out}.print(m)
}

func (s *state) acr() *cobra.Command {
	root := &cobra.Command{Use: "acr", Short: "Manage container registries"}
	s.flags(root)
	var name, rg, sku, location string
	var admin, public, exports string
	var yes, whatIf bool
	nameFlags := func(c *cobra.Command) {
		c.Flags().StringVarP(&name, "name", "n", "", "registry name")
		c.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	}
	withReg := func(run func(c *conn, id string) error) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error {
			if name == "" {
				return errors.New("--name/-n is required")
			}
			c, err := s.conn()
			if err != nil {
				return err
			}
			id, err := c.findRegistry(name, rg)
			if err != nil {
				return err
			}
			return run(c, id)
		}
	}
	props := func() map[string]any {
		p := map[string]any{}
		if admin != "" {
			p["adminUserEnabled"] = admin == "true"
		}
		if public != "" {
			if public == "true" {
				p["publicNetworkAccess"] = "Enabled"
			} else {
				p["publicNetworkAccess"] = "Disabled"
				p["networkRuleSet"] = map[string]any{"defaultAction": "Deny"}
			}
		}
		if exports != "" {
			status := "enabled"
			if exports == "false" {
				status = "disabled"
			}
			p["policies"] = map[string]any{"exportPolicy": map[string]any{"status": status}}
		}
		return p
	}
	create := &cobra.Command{Use: "create", Short: "Create a registry", RunE: func(*cobra.Command, []string) error {
		if name == "" || rg == "" || sku == "" {
			return errors.New("--name, --resource-group and --sku are required")
		}
		c, err := s.conn()
		if err != nil {
			return err
		}
		if location == "" {
			b, err := c.do(http.MethodGet, "/subscriptions/"+c.p.SubscriptionID+"/resourceGroups/"+rg+"?api-version=2021-04-01", nil)
			if err != nil {
				return err
			}
			var g struct{ Location string }
			json.Unmarshal(b, &g)
			location = g.Location
		}
		body := map[string]any{"location": location, "sku": map[string]any{"name": sku}, "properties": props()}
		id := "/subscriptions/" + c.p.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name
		b, err := c.do(http.MethodPut, id+"?api-version="+acrAPIVersion, body)
		if err != nil {
			return err
		}
		return s.printRegistry(b)
	}}
	nameFlags(create)
	create.Flags().StringVar(&sku, "sku", "", "Basic, Standard or Premium")
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	for _, c := range []*cobra.Command{create} {
		c.Flags().StringVar(&admin, "admin-enabled", "", "true or false")
		c.Flags().StringVar(&public, "public-network-enabled", "", "true or false")
		c.Flags().StringVar(&exports, "allow-exports", "", "true or false")
	}
	show := &cobra.Command{Use: "show", Short: "Show a registry", RunE: withReg(func(c *conn, id string) error {
		b, err := c.do(http.MethodGet, id+"?api-version="+acrAPIVersion, nil)
		if err != nil {
			return err
		}
		return s.printRegistry(b)
	})}
	nameFlags(show)
	update := &cobra.Command{Use: "update", Short: "Update a registry", RunE: withReg(func(c *conn, id string) error {
		body := map[string]any{"properties": props()}
		if sku != "" {
			body["sku"] = map[string]any{"name": sku}
		}
		if whatIf {
			return s.whatIf(c, id, body)
		}
		b, err := c.do(http.MethodPatch, id+"?api-version="+acrAPIVersion, body)
		if err != nil {
			return err
		}
		return s.printRegistry(b)
	})}
	nameFlags(update)
	update.Flags().StringVar(&sku, "sku", "", "Basic, Standard or Premium")
	update.Flags().StringVar(&admin, "admin-enabled", "", "true or false")
	update.Flags().StringVar(&public, "public-network-enabled", "", "true or false")
	update.Flags().StringVar(&exports, "allow-exports", "", "true or false")
	update.Flags().BoolVar(&whatIf, "what-if", false, "show what the update would do (refusal, changes, blocking export pipelines, identities cut off) without applying it (Bulkhead)")
	del := &cobra.Command{Use: "delete", Short: "Delete a registry", RunE: withReg(func(c *conn, id string) error {
		if !yes {
			return errors.New("deleting a registry deletes its content; pass --yes to confirm")
		}
		_, err := c.do(http.MethodDelete, id+"?api-version="+acrAPIVersion, nil)
		return err
	})}
	nameFlags(del)
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")
	list := &cobra.Command{Use: "list", Short: "List registries", RunE: func(*cobra.Command, []string) error {
		c, err := s.conn()
		if err != nil {
			return err
		}
		path := "/subscriptions/" + c.p.SubscriptionID
		if rg != "" {
			path += "/resourceGroups/" + rg
		}
		var out []any
		next := path + "/providers/Microsoft.ContainerRegistry/registries?api-version=" + acrAPIVersion
		for next != "" {
			b, err := c.do(http.MethodGet, next, nil)
			if err != nil {
				return err
			}
			var page struct {
				Value    []json.RawMessage
				NextLink string
			}
			json.Unmarshal(b, &page)
			for _, v := range page.Value {
				m, _ := flatten(v)
				out = append(out, m)
			}
			next = page.NextLink
		}
		if out == nil {
			out = []any{}
		}
		return printer{format: s.format, query: s.query, out: s.out}.print(out)
	}}
	list.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group")
	check := &cobra.Command{Use: "check-name", Short: "Check whether a registry name is available", RunE: func(*cobra.Command, []string) error {
		c, err := s.conn()
		if err != nil {
			return err
		}
		b, err := c.do(http.MethodPost, "/subscriptions/"+c.p.SubscriptionID+"/providers/Microsoft.ContainerRegistry/checkNameAvailability?api-version="+acrAPIVersion,
			map[string]string{"name": name, "type": "Microsoft.ContainerRegistry/registries"})
		if err != nil {
			return err
		}
		return s.print(b)
	}}
	check.Flags().StringVarP(&name, "name", "n", "", "registry name")
	cred := &cobra.Command{Use: "credential", Short: "Manage admin credentials"}
	credShow := &cobra.Command{Use: "show", Short: "Show admin credentials", RunE: withReg(func(c *conn, id string) error {
		b, err := c.do(http.MethodPost, id+"/listCredentials?api-version="+acrAPIVersion, nil)
		if err != nil {
			return err
		}
		return s.print(b)
	})}
	nameFlags(credShow)
	var which string
	credRenew := &cobra.Command{Use: "renew", Short: "Regenerate an admin password", RunE: withReg(func(c *conn, id string) error {
		b, err := c.do(http.MethodPost, id+"/regenerateCredential?api-version="+acrAPIVersion, map[string]string{"name": which})
		if err != nil {
			return err
		}
		return s.print(b)
	})}
	nameFlags(credRenew)
	credRenew.Flags().StringVar(&which, "password-name", "password", "password or password2")
	cred.AddCommand(credShow, credRenew)
	root.AddCommand(create, show, update, del, list, check, cred)
	root.AddCommand(s.pipelineCommands()...)
	root.AddCommand(s.egressReport())
	return root
}
