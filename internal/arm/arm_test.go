package arm

import "testing"

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/S/resourcegroups/RG/providers/microsoft.containerregistry/registries/Reg":               "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/Reg",
		"/SUBSCRIPTIONS/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/REGISTRIES/providers": "/subscriptions/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/registries/providers",
		"/subscriptions/s/providers/Microsoft.ContainerRegistry/checknameavailability":                          "/subscriptions/s/providers/Microsoft.ContainerRegistry/checkNameAvailability",
	} {
		if got := CanonicalPath(in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}
