package apps

import (
	"strconv"

	"github.com/podiumhq/podium"
)

// SettingsText are an app's process settings as text, by field name
// (min_processes, max_processes, max_conns_per_process, load_factor,
// idle_timeout, init_timeout), as the dashboard's form shows and sends
// them: "" (or no entry) is the server's default.
type SettingsText map[string]string

// intFields are the whole-number fields of Overrides, by name.
func (o *Overrides) intFields() []struct {
	name string
	p    **int
} {
	return []struct {
		name string
		p    **int
	}{{"min_processes", &o.MinProcesses}, {"max_processes", &o.MaxProcesses}, {"max_conns_per_process", &o.MaxConnsPerProcess}}
}

// Text returns o as text: a number o leaves unset has no entry, a
// duration it leaves unset is "".
func (o *Overrides) Text() SettingsText {
	t := SettingsText{"idle_timeout": o.IdleTimeout, "init_timeout": o.InitTimeout}
	for _, f := range o.intFields() {
		if *f.p != nil {
			t[f.name] = strconv.Itoa(**f.p)
		}
	}
	if o.LoadFactor != nil {
		t["load_factor"] = strconv.FormatFloat(*o.LoadFactor, 'g', -1, 64)
	}
	return t
}

// Text returns the settings in effect as text, every field set.
func (e EffectiveLimits) Text() SettingsText {
	return SettingsText{
		"min_processes": strconv.Itoa(e.MinProcesses), "max_processes": strconv.Itoa(e.MaxProcesses),
		"max_conns_per_process": strconv.Itoa(e.MaxConnsPerProcess), "load_factor": strconv.FormatFloat(e.LoadFactor, 'g', -1, 64),
		"idle_timeout": e.IdleTimeout, "init_timeout": e.InitTimeout,
	}
}

// ParseSettingsText reads overrides from text; "" leaves a field unset.
// Returns EINVALID naming a field that is not a number. Whether the
// values fit the node's limits is checked where they are stored
// (Supervisor.ChangeSettings).
func ParseSettingsText(t SettingsText) (Overrides, error) {
	var o Overrides
	for _, f := range o.intFields() {
		v := t[f.name]
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return Overrides{}, podium.Errorf(podium.EINVALID, "%s: %q is not a whole number (leave it empty for the server's default)", f.name, v)
		}
		*f.p = &n
	}
	if v := t["load_factor"]; v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Overrides{}, podium.Errorf(podium.EINVALID, "load_factor: %q is not a number such as 0.5 (leave it empty for the server's default)", v)
		}
		o.LoadFactor = &x
	}
	o.IdleTimeout, o.InitTimeout = t["idle_timeout"], t["init_timeout"]
	return o, nil
}
