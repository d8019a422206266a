package acr

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
)

// Every row of the code table answers with its status and class, and every
// code the package's handlers name with fail has a row, so none of them
// can end as a 500.
func TestCodeTable(t *testing.T) {
	for c, row := range codes {
		err := fail(c, "msg %d", 1)
		if err.Status != row.status || err.Code != c || err.Message != "msg 1" || !errors.Is(err, row.class) {
			t.Errorf("%s: %+v", c, err)
		}
		if row.status >= http.StatusInternalServerError {
			t.Errorf("%s: a provider error must be a 4xx", c)
		}
	}
	if e := arm.ToError(fail("NoSuchCode", "x")); e.Status != http.StatusInternalServerError {
		t.Errorf("an unknown code: %+v", e)
	}
	used := regexp.MustCompile(`\bfail\("(\w+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllSubmatch(b, -1) {
			if _, ok := codes[string(m[1])]; !ok && f != "codes_test.go" {
				t.Errorf("%s uses code %s, which the table does not list", f, m[1])
			}
		}
	}
}
