package storage

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestCheckMetadata(t *testing.T) {
	good := []map[string]string{
		nil,
		{},
		{"category": "acr-transfer-blob"},
		{"_x1": "", "a_b": "v with inner spaces", "k": "~!@#$%^&*()"},
		{"big": strings.Repeat("x", MaxMetadataSize-3)},
	}
	for _, md := range good {
		if err := CheckMetadata(md); err != nil {
			t.Errorf("CheckMetadata(%v) = %v", md, err)
		}
	}
	bad := []map[string]string{
		{"": "x"},
		{"Category": "x"},
		{"1a": "x"},
		{"a-b": "x"},
		{"a.b": "x"},
		{"k": " leading"},
		{"k": "trailing "},
		{"k": "tab\there"},
		{"k": "new\nline"},
		{"k": "caf\u00e9"},
		{"big": strings.Repeat("x", MaxMetadataSize-2)},
	}
	for _, md := range bad {
		if err := CheckMetadata(md); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("CheckMetadata(%q) = %v, want invalid argument", md, err)
		}
	}
}
