package oci

import (
	"testing"
)

func TestParseManifest(t *testing.T) {
	const cfg = `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}`
	cases := []struct {
		name, ct, body string
		wantType       string
		wantArtifact   string
		ok             bool
	}{
		{"oci manifest", "application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` + cfg + `,"layers":[]}`, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.config.v1+json", true},
		{"media type from header", "application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2,` + cfg + `}`, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.config.v1+json", true},
		{"media type inferred", "", `{"schemaVersion":2,"manifests":[]}`, "application/vnd.oci.image.index.v1+json", "", true},
		{"docker schema2", "application/vnd.docker.distribution.manifest.v2+json", `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`, "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.container.image.v1+json", true},
		{"artifact type from config", "", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}}`, "application/vnd.oci.image.manifest.v1+json", "application/vnd.example+json", true},
		{"explicit artifact type", "", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x",` + cfg + `}`, "application/vnd.oci.image.manifest.v1+json", "application/x", true},
		{"not json", "", `{`, "", "", false},
		{"wrong schema", "", `{"schemaVersion":1,` + cfg + `}`, "", "", false},
		{"no config", "application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2}`, "", "", false},
		{"type mismatch", "application/vnd.oci.image.index.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` + cfg + `}`, "", "", false},
		{"unknown type", "application/vnd.example", `{"schemaVersion":2}`, "", "", false},
		{"bad layer digest", "", `{"schemaVersion":2,` + cfg + `,"layers":[{"digest":"sha256:zz","size":1}]}`, "", "", false},
		{"negative size", "", `{"schemaVersion":2,` + cfg + `,"layers":[{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1}]}`, "", "", false},
		{"bad subject", "", `{"schemaVersion":2,` + cfg + `,"subject":{"digest":"nope","size":1}}`, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := parseManifest(c.ct, []byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if ae := toAPIError(err); ae.code != codeManifestInvalid || ae.status != 400 {
					t.Fatalf("got %s %d", ae.code, ae.status)
				}
				return
			}
			if m.MediaType != c.wantType || m.ArtifactType != c.wantArtifact {
				t.Fatalf("got type %q artifact %q", m.MediaType, m.ArtifactType)
			}
		})
	}
}
