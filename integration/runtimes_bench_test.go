package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/runtimes"
)

// BenchmarkDeploy measures, on one SQLite node, deploy-to-first-200 (from
// the upload of the bundle to the first 200 at /content/{guid}/) for a
// static site, a Flask app whose environment is cached and a Flask app
// whose environment is new, and the environment build time; the median of
// PODIUM_BENCH_TRIALS (default 3) trials each. Goal: a cached environment
// adds under 1 s over the static site.
func BenchmarkDeploy(b *testing.B) {
	trials := envInt("PODIUM_BENCH_TRIALS", 3)
	data := sharedDataDir(b)
	n := nodetest.StartNode(b, nodetest.Options{DataDir: data, Config: rtConfig(b)})
	bin := nodetest.Binary(b)
	nodetest.Run(b, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "bench")
	api := &apiClient{t: b, base: n.URL, key: strings.TrimSpace(key)}

	seq := 0
	// deploy creates content, deploys files and returns the time to the
	// first 200 and the deployment's output.
	deploy := func(files map[string]string) (time.Duration, []string) {
		seq++
		dir := b.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
			b.Fatal(err)
		}
		var ct struct {
			GUID string `json:"guid"`
		}
		if code := api.do("POST", "/__api__/v1/content", strings.NewReader(fmt.Sprintf(`{"name":"bench-%d"}`, seq)), &ct); code != 201 {
			b.Fatalf("create content: %d", code)
		}
		start := time.Now()
		var bd struct {
			ID int64 `json:"id"`
		}
		if code := api.do("POST", "/__api__/v1/content/"+ct.GUID+"/bundles", &buf, &bd); code >= 300 {
			b.Fatalf("upload: %d", code)
		}
		var task struct {
			TaskID string `json:"task_id"`
		}
		if code := api.do("POST", "/__api__/v1/content/"+ct.GUID+"/deploy", strings.NewReader(fmt.Sprintf(`{"bundle_id":%d}`, bd.ID)), &task); code != 202 {
			b.Fatalf("deploy: %d", code)
		}
		var st struct {
			Finished bool     `json:"finished"`
			Code     int      `json:"code"`
			Error    string   `json:"error"`
			Output   []string `json:"output"`
		}
		deadline := time.Now().Add(10 * time.Minute)
		for !st.Finished {
			if time.Now().After(deadline) {
				b.Fatal("deployment did not finish in 10 minutes")
			}
			time.Sleep(10 * time.Millisecond)
			api.do("GET", "/__api__/v1/tasks/"+task.TaskID, nil, &st)
		}
		if st.Code != 0 {
			b.Fatalf("deployment failed: %s\n%s", st.Error, strings.Join(st.Output, "\n"))
		}
		for {
			req, _ := http.NewRequest("GET", n.URL+"/content/"+ct.GUID+"/", nil)
			req.Header.Set("Authorization", "Key "+api.key)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return time.Since(start), st.Output
				}
			}
			if time.Now().After(deadline) {
				b.Fatal("no 200 within 10 minutes")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	flask := func(requirements string) map[string]string {
		f := map[string]string{}
		for k, v := range rtFlaskApp {
			f[k] = v
		}
		f["requirements.txt"] = requirements
		return f
	}
	// Each trial of a new environment asks for one package set no earlier
	// trial asked for (one requirement, written differently).
	newSets := []string{"podium-hello>=1.0", "podium-hello<=1.0", "podium-hello~=1.0", "podium-hello==1.*", "podium-hello!=0.9",
		"podium-hello>0.1", "podium-hello<2", "podium-hello===1.0", "podium-hello>=0.5", "podium-hello<=1.5"}
	if trials > len(newSets) {
		trials = len(newSets)
	}

	deploy(flask("podium-hello==1.0\n")) // warm: builds the cached environment, loads Flask once
	var static, cached, fresh, build []time.Duration
	for i := range trials {
		d, _ := deploy(map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "bench"})
		static = append(static, d)
		d, out := deploy(flask("podium-hello==1.0\n"))
		if !rtHas(out, "Reusing the cached Python environment") {
			b.Fatalf("cached trial built an environment:\n%s", strings.Join(out, "\n"))
		}
		cached = append(cached, d)
		d, _ = deploy(flask(newSets[i] + "\n"))
		fresh = append(fresh, d)
	}
	// Build times, from the records the builds left.
	entries, _ := os.ReadDir(filepath.Join(data, "runtimes", "python"))
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(data, "runtimes", "python", e.Name(), ".podium-env.json"))
		if err != nil {
			continue
		}
		var rec runtimes.EnvRecord
		if json.Unmarshal(raw, &rec) == nil {
			build = append(build, time.Duration(rec.Seconds*float64(time.Second)))
		}
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%7.0f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Printf("bench-deploy: SQLite node, median of %d trials, upload to first 200 at /content/{guid}/\n", trials)
	fmt.Printf("  static site                     %s (max %s)\n", ms(med(static)), ms(slices.Max(static)))
	fmt.Printf("  flask, cached environment       %s (max %s)  +%s over static\n", ms(med(cached)), ms(slices.Max(cached)), ms(med(cached)-med(static)))
	fmt.Printf("  flask, new environment          %s (max %s)  +%s over static\n", ms(med(fresh)), ms(slices.Max(fresh)), ms(med(fresh)-med(static)))
	fmt.Printf("  environment build (venv + pip)  %s (max %s, %d builds)\n", ms(med(build)), ms(slices.Max(build)), len(build))
	verdict := "met"
	if med(cached)-med(static) >= time.Second {
		verdict = "NOT met"
	}
	fmt.Printf("  goal: cached environment adds < 1 s over static: %s\n", verdict)
	b.ReportMetric(float64(med(static).Milliseconds()), "static-ms")
	b.ReportMetric(float64(med(cached).Milliseconds()), "cached-ms")
	b.ReportMetric(float64(med(fresh).Milliseconds()), "new-env-ms")
	b.ReportMetric(float64(med(build).Milliseconds()), "build-ms")
}
