package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// hostileCase is a deployment request built to exhaust the server, and
// the ARM errors it must end in instead.
type hostileCase struct {
	name string
	body string
	// validate is the error code that validation answers with, or "" where
	// validation cannot see the fault (reference() is evaluated only while
	// deploying) and answers 200.
	validate string
	// put is the error code that a deployment PUT answers with, or, where
	// validation passes, the code of the failed deployment's first detail.
	put string
}

// The limits of a deployment's template, as ARM's answer them.
const (
	invalidTemplate = "InvalidTemplateDeployment" // validation's InvalidTemplate
	jobSize         = "DeploymentJobSizeExceeded"
)

// hostileCases reads the hostile templates shared with the template
// package's tests (a few KB each) and adds what is too large to keep as
// a file: a request of 4 MB of small objects, and ARM's count limits.
func hostileCases(t *testing.T) []hostileCase {
	files, err := filepath.Glob("../internal/template/testdata/hostile/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("hostile templates: %v %v", files, err)
	}
	codes := map[string][2]string{ // validate, put; the rest are invalidTemplate twice
		"resource-copy":    {jobSize, jobSize},
		"resource-names":   {jobSize, jobSize},
		"reference-fanout": {"", "InvalidTemplate"},
	}
	var cases []hostileCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		c := hostileCase{name: name, body: deploymentBody(string(b)), validate: invalidTemplate, put: invalidTemplate}
		if want, ok := codes[name]; ok {
			c.validate, c.put = want[0], want[1]
		}
		cases = append(cases, c)
	}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	return append(cases,
		hostileCase{"heavy-request", deploymentBody(`{"variables":{"objects":[` + strings.Repeat(`{"a":1},`, 480_000) + `{}]},"resources":[]}`), jobSize, jobSize},
		hostileCase{"257-parameters", deploymentBody(`{"parameters":{` + many(257, func(i int) string { return fmt.Sprintf(`"p%d":{"type":"int","defaultValue":1}`, i) }) + `}}`), invalidTemplate, invalidTemplate},
		hostileCase{"257-variables", deploymentBody(`{"variables":{` + many(257, func(i int) string { return fmt.Sprintf(`"v%d":1`, i) }) + `}}`), invalidTemplate, invalidTemplate},
		hostileCase{"65-outputs", deploymentBody(`{"outputs":{` + many(65, func(i int) string { return fmt.Sprintf(`"o%d":{"type":"int","value":1}`, i) }) + `}}`), invalidTemplate, invalidTemplate},
		hostileCase{"801-resources", deploymentBody(`{"resources":[` + many(801, func(i int) string {
			return fmt.Sprintf(`{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"r%d","location":"westus","sku":{"name":"Basic"}}`, i)
		}) + `]}`), invalidTemplate, invalidTemplate},
	)
}

func deploymentBody(template string) string {
	return `{"properties":{"mode":"Incremental","template":` + template + `}}`
}

// Each hostile request ends, on validate and on PUT, in a clean ARM error
// within 2 s, with the server's peak memory less than 64 MiB over what it
// held before, while it goes on answering other requests promptly. Every
// case runs on a server of its own, so that no case inherits another's
// heap.
func TestHostileTemplates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	const maxTime, maxExtra, maxStall = 2 * time.Second, 64 << 20, time.Second
	for _, c := range hostileCases(t) {
		t.Run(c.name, func(t *testing.T) {
			srv := testserver.Start(t, testserver.Options{})
			arm := newARM(t, srv)
			rg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/hostile"
			if code, m := arm.do("PUT", rg+"?api-version=2024-03-01", `{"location":"westus"}`); code/100 != 2 {
				t.Fatalf("resource group: %d %v", code, m)
			}
			deployments := rg + "/providers/Microsoft.Resources/deployments/"
			// Warm up the paths a deployment takes, so that what they load
			// once is not counted against the case.
			warm := deploymentBody(`{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"warmup","location":"westus","sku":{"name":"Basic"}}]}`)
			for _, path := range []string{deployments + "warmup/validate", deployments + "warmup"} {
				method := map[bool]string{true: "POST", false: "PUT"}[strings.HasSuffix(path, "validate")]
				if code, m := arm.do(method, path+"?api-version=2024-03-01", warm); code/100 != 2 {
					t.Fatalf("warm-up %s: %d %v", method, code, m)
				}
			}
			base := startWatch(t, srv.PID())
			probe := startProbe(srv, rg, arm.token)

			start := time.Now()
			code, m := arm.do("POST", deployments+"hostile/validate?api-version=2024-03-01", c.body)
			validateTook := time.Since(start)
			checkAnswer(t, "validate", code, m, c.validate)

			start = time.Now()
			code, m = arm.do("PUT", deployments+"hostile?api-version=2024-03-01", c.body)
			putTook := time.Since(start)
			if c.validate == "" {
				if state, detail := dig(m, "properties", "provisioningState"), dig(m, "properties", "error", "details"); code != 201 || state != "Failed" ||
					dig(m, "properties", "error", "code") != "DeploymentFailed" || fmt.Sprint(detail) == "" || dig(detail.([]any)[0].(map[string]any), "code") != c.put {
					t.Errorf("put: %d %.400s, want a failed deployment with %s", code, mustJSON(m), c.put)
				}
			} else {
				checkAnswer(t, "put", code, m, c.put)
			}

			stalls, failures := probe.stop()
			extra := base.extra()
			t.Logf("validate %v, put %v, peak memory +%.1f MiB, slowest other request %v",
				validateTook.Round(time.Millisecond), putTook.Round(time.Millisecond), float64(extra)/(1<<20), stalls.Round(time.Millisecond))
			if validateTook > maxTime || putTook > maxTime {
				t.Errorf("validate took %v and put %v, want under %v each", validateTook, putTook, maxTime)
			}
			if extra > maxExtra {
				t.Errorf("the server's peak memory grew by %d MiB, want under %d", extra>>20, maxExtra>>20)
			}
			if failures > 0 || stalls > maxStall {
				t.Errorf("other requests meanwhile: %d failed, the slowest took %v", failures, stalls)
			}
			if code, _ := arm.do("GET", rg+"?api-version=2024-03-01", ""); code != 200 {
				t.Errorf("the server no longer answers: %d", code)
			}
		})
	}
}

// checkAnswer checks an ARM error envelope: 4xx, the code, a message.
func checkAnswer(t *testing.T, what string, code int, m map[string]any, want string) {
	t.Helper()
	if want == "" {
		if code != 200 {
			t.Errorf("%s: %d %.300s, want 200", what, code, mustJSON(m))
		}
		return
	}
	msg, _ := dig(m, "error", "message").(string)
	if code/100 != 4 || dig(m, "error", "code") != want || msg == "" {
		t.Errorf("%s: %d %.400s, want an ARM error %s", what, code, mustJSON(m), want)
	}
}

// memWatch reads a process's resident memory from /proc (Linux only).
type memWatch struct {
	t        *testing.T
	pid      int
	baseline int // VmRSS when the watch began, in bytes
}

// startWatch resets the process's peak resident memory (VmHWM) to what it
// holds now and notes that as the baseline.
func startWatch(t *testing.T, pid int) memWatch {
	w := memWatch{t: t, pid: pid}
	if runtime.GOOS != "linux" {
		return w
	}
	// 5 resets the peak to the current resident size (proc(5),
	// clear_refs). Without it the peak of the start-up counts too, which
	// only makes the check stricter.
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	w.baseline = w.status("VmRSS")
	return w
}

// extra is how far the peak resident memory rose over the baseline.
func (w memWatch) extra() int {
	if runtime.GOOS != "linux" {
		return 0
	}
	return w.status("VmHWM") - w.baseline
}

func (w memWatch) status(field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.pid))
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				w.t.Fatalf("%s: %v", sc.Text(), err)
			}
			return kb << 10
		}
	}
	w.t.Fatalf("no %s in /proc/%d/status", field, w.pid)
	return 0
}

// probe keeps asking the server for /healthz and for an ARM resource while
// a case runs, and notes the slowest answer and the failures.
type probe struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	slowest  time.Duration
	failures int
}

func startProbe(srv *testserver.Server, rg, token string) *probe {
	p := &probe{done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	ask := func(path string, auth bool) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.slowest = max(p.slowest, took)
		if err != nil {
			p.failures++
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			p.failures++
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if i%5 == 0 {
				ask(rg+"?api-version=2024-03-01", true)
			} else {
				ask("/healthz", false)
			}
		}
	}()
	return p
}

// stop ends the probe and reports the slowest answer and the failures.
func (p *probe) stop() (time.Duration, int) {
	close(p.done)
	p.wg.Wait()
	return p.slowest, p.failures
}
