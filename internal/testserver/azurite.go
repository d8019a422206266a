package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// Azurite's one account, with its documented, public development key.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running azurite-blob, the Azure Blob Storage emulator.
type Azurite struct {
	// BlobEndpoint is the account's blob endpoint, path-style:
	// http://127.0.0.1:PORT/devstoreaccount1.
	BlobEndpoint string
	Account      string
	Key          string
	log          *outputLog
}

// StartAzurite runs azurite-blob on a free loopback port with its data in
// a temp dir, waits until it answers, and stops it when the test ends.
// Without azurite-blob the test skips, or fails under CI (RequireTool).
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	bin := RequireTool(t, "azurite-blob", "npm install -g azurite")
	var last error
	for range 3 { // a free port can be taken before azurite binds it
		a, err := startAzurite(t, bin)
		if err == nil {
			return a
		}
		last = err
	}
	t.Fatalf("azurite-blob: %v", last)
	return nil
}

func startAzurite(t testing.TB, bin string) (*Azurite, error) {
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	a := &Azurite{
		BlobEndpoint: "http://127.0.0.1:" + port + "/" + AzuriteAccount,
		Account:      AzuriteAccount,
		Key:          AzuriteKey,
		log:          &outputLog{},
	}
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", port,
		"--location", t.TempDir(),
		"--skipApiVersionCheck", "--loose", "--silent",
		"--disableTelemetry", "--disableProductStyleUrl")
	// Only the default account: a developer's AZURITE_ACCOUNTS would
	// change the key.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURITE_ACCOUNTS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = a.log, a.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		// Its own process group, so that nothing it started outlives it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(a.BlobEndpoint + "?comp=list")
		if err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return a, nil
		}
		select {
		case <-exited:
			return nil, errors.New("exited early:\n" + a.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("did not answer within 60s:\n" + a.log.String())
		}
	}
}

// NewContainer creates a container with a new random name and returns its
// URI and a SAS token (no leading `?`) that may read, add, create, write,
// delete and list in it for an hour.
func (a *Azurite) NewContainer(t testing.TB) (uri, sasToken string) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "c" + hex.EncodeToString(b)
	a.CreateContainer(t, name)
	perms := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
	return a.BlobEndpoint + "/" + name, a.ContainerSAS(t, name, perms, time.Now().Add(time.Hour))
}

// CreateContainer creates the container name with the account key.
func (a *Azurite) CreateContainer(t testing.TB, name string) {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(a.BlobEndpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
}

// ContainerSAS signs a SAS token (no leading `?`) for container name with
// the account key.
func (a *Azurite) ContainerSAS(t testing.TB, name string, perms sas.ContainerPermissions, expiry time.Time) string {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-5 * time.Minute).UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   perms.String(),
		ContainerName: name,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

// outputLog keeps a process's output for the message of a failed start.
type outputLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *outputLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
