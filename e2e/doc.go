// Package e2e holds end-to-end tests that run the real bulkhead binary on a
// free loopback port and drive it with real clients: the OCI conformance
// suite, skopeo, crane and oras.
package e2e
