package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// whatIfAnswer is the server's answer to POST {registry}/whatIf.
type whatIfAnswer struct {
	ID     string
	Since  string
	Days   int
	Result struct {
		Status     string
		HTTPStatus int
		Error      *struct{ Code, Message string }
	}
	Changes []struct {
		Path          string
		Before, After any
	}
	Impacts struct {
		BlockingPipelines []struct{ Name, ID string }
		CutOff            []struct {
			Identity, Channel, Reason  string
			Bytes, Artifacts, Attempts int64
			LastDay                    string
		}
		CutOffWithheld string
	}
}

// whatIf asks the server what the PATCH body would do to the registry id,
// and prints the prediction instead of applying it. A predicted refusal
// is an answer, not a failure: the command exits 0.
func (s *state) whatIf(c *conn, id string, body map[string]any) error {
	b, err := c.do(http.MethodPost, id+"/whatIf?api-version="+acrAPIVersion, body)
	if err != nil {
		return err
	}
	if s.format != "table" || s.query != "" {
		return s.print(b)
	}
	var a whatIfAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("what-if: %w", err)
	}
	writeWhatIf(s.out, a)
	return nil
}

// writeWhatIf draws a prediction: the outcome, the property changes, what
// blocks the change and who it would cut off.
func writeWhatIf(w io.Writer, a whatIfAnswer) {
	if e := a.Result.Error; e != nil {
		fmt.Fprintf(w, "The update would be refused: %d %s\n  %s\n\n", a.Result.HTTPStatus, e.Code, e.Message)
	} else {
		fmt.Fprintf(w, "The update would succeed (%d).\n\n", a.Result.HTTPStatus)
	}
	if len(a.Changes) == 0 {
		fmt.Fprintln(w, "No property would change.")
	} else {
		rows := [][]string{}
		for _, c := range a.Changes {
			rows = append(rows, []string{c.Path, showValue(c.Before), showValue(c.After)})
		}
		grid(w, []string{"PROPERTY", "BEFORE", "AFTER"}, rows)
	}
	if p := a.Impacts.BlockingPipelines; len(p) > 0 {
		fmt.Fprintln(w, "\nExport pipelines that block it (delete them first):")
		rows := [][]string{}
		for _, x := range p {
			rows = append(rows, []string{x.Name, x.ID})
		}
		grid(w, []string{"NAME", "ID"}, rows)
	}
	switch {
	case a.Impacts.CutOffWithheld != "":
		fmt.Fprintf(w, "\nIdentities cut off: not shown. %s\n", a.Impacts.CutOffWithheld)
	case len(a.Impacts.CutOff) > 0:
		fmt.Fprintf(w, "\nIdentities it would cut off (their traffic in the %d days since %s):\n", a.Days, a.Since)
		rows := [][]string{}
		for _, x := range a.Impacts.CutOff {
			rows = append(rows, []string{identityName(x.Identity), x.Channel, x.Reason, humanBytes(x.Bytes),
				strconv.FormatInt(x.Artifacts, 10), strconv.FormatInt(x.Attempts, 10), x.LastDay})
		}
		grid(w, []string{"IDENTITY", "CHANNEL", "REASON", "BYTES", "ARTIFACTS", "ATTEMPTS", "LAST_DAY"}, rows)
	}
}

// showValue prints a property value: strings as they are, anything else
// as JSON.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
