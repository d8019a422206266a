package reference

import "testing"

func TestGrammar(t *testing.T) {
	for name, ok := range map[string]bool{"app": true, "a.b_c__d-e--f/g": true, "team/app": true, "": false, "App": false, "a//b": false, "/a": false, "a_": false, "a.-b": false} {
		if ValidRepository(name) != ok {
			t.Errorf("repository %q: want %v", name, ok)
		}
	}
	for tag, ok := range map[string]bool{"v1": true, "_x": true, "V1.0-rc_2": true, "": false, "-x": false, ".x": false, string(make([]byte, 129)): false} {
		if ValidTag(tag) != ok {
			t.Errorf("tag %q: want %v", tag, ok)
		}
	}
}
