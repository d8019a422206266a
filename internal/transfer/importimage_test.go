package transfer

import (
	"errors"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestParseImage(t *testing.T) {
	d := "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	for in, want := range map[string]string{
		"app":                 "app:latest",
		"library/app:1.0":     "library/app:1.0",
		"app@" + d:            "app@" + d,
		"app:v1@" + d:         "app:v1@" + d,
		"a.b_c-d/e__f:V_1.x-": "a.b_c-d/e__f:V_1.x-",
	} {
		img, err := ParseImage(in, true)
		if err != nil || img.String() != want {
			t.Errorf("%q: %v %v, want %s", in, img, err, want)
		}
	}
	if img, _ := ParseImage("app", false); img.Tag != "" {
		t.Errorf("no default tag asked: %v", img)
	}
	for _, bad := range []string{"", "App", "app:", "app:-x", "app@sha256:zz", "/app", "app//x", "app:v1:v2", "a:" + string(make([]byte, 129))} {
		if _, err := ParseImage(bad, true); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("%q: want ErrInvalidArgument, got %v", bad, err)
		}
	}
}
