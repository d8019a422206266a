package arm

import "testing"

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/S/resourcegroups/RG/providers/microsoft.containerregistry/registries/Reg":               "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/Reg",
		"/SUBSCRIPTIONS/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/REGISTRIES/providers": "/subscriptions/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/registries/providers",
		"/subscriptions/s/providers/Microsoft.ContainerRegistry/checknameavailability":                          "/subscriptions/s/providers/Microsoft.ContainerRegistry/checkNameAvailability",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry//registries/r":                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r",
		"/subscriptions/s/providers/microsoft.containerregistry/LOCATIONS/WestUS/OPERATIONSTATUSES/Op1":         "/subscriptions/s/providers/Microsoft.ContainerRegistry/locations/WestUS/operationStatuses/Op1",
	} {
		if got := CanonicalPath(in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}
