package apps

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// TestSettingsText: the dashboard form's text of the process settings
// reads back as the overrides it shows ("" is the server's default); a
// field that is not a number is refused naming it; the effective limits
// show every field.
func TestSettingsText(t *testing.T) {
	in := SettingsText{"min_processes": "1", "max_processes": "", "max_conns_per_process": "20", "load_factor": "0.5",
		"idle_timeout": "5m", "init_timeout": ""}
	o, err := ParseSettingsText(in)
	if err != nil {
		t.Fatal(err)
	}
	if o.MinProcesses == nil || *o.MinProcesses != 1 || o.MaxProcesses != nil || o.MaxConnsPerProcess == nil || *o.MaxConnsPerProcess != 20 ||
		o.LoadFactor == nil || *o.LoadFactor != 0.5 || o.IdleTimeout != "5m" || o.InitTimeout != "" {
		t.Fatalf("parsed %+v", o)
	}
	want := SettingsText{"min_processes": "1", "max_conns_per_process": "20", "load_factor": "0.5", "idle_timeout": "5m", "init_timeout": ""}
	if got := o.Text(); !maps.Equal(got, want) {
		t.Fatalf("Text = %v, want %v", got, want)
	}
	if o, err := ParseSettingsText(SettingsText{}); err != nil || o != (Overrides{}) {
		t.Fatalf("empty form: %+v %v, want no overrides", o, err)
	}
	for field, v := range map[string]string{"min_processes": "one", "max_processes": "2.5", "max_conns_per_process": "x", "load_factor": "half"} {
		_, err := ParseSettingsText(SettingsText{field: v})
		if !podium.IsCode(err, podium.EINVALID) || !strings.HasPrefix(podium.ErrorMessage(err), field+": ") {
			t.Errorf("%s=%q: %v, want EINVALID naming the field", field, v, err)
		}
	}
	e := effective(Limits{MinProcesses: 0, MaxProcesses: 3, MaxConnsPerProcess: 20, LoadFactor: 0.5, IdleTimeout: time.Minute, InitTimeout: 90 * time.Second})
	wantE := SettingsText{"min_processes": "0", "max_processes": "3", "max_conns_per_process": "20", "load_factor": "0.5",
		"idle_timeout": "1m0s", "init_timeout": "1m30s"}
	if got := e.Text(); !maps.Equal(got, wantE) {
		t.Fatalf("effective Text = %v, want %v", got, wantE)
	}
}
