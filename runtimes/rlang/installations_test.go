package rlang

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
)

func TestChoose(t *testing.T) {
	insts := []Installation{{"/opt/R/4.1.3/bin/R", "4.1.3"}, {"/opt/R/4.2.1/bin/R", "4.2.1"}, {"/opt/R/4.2.3/bin/R", "4.2.3"}, {"/opt/R/4.4.0/bin/R", "4.4.0"}}
	for _, tc := range []struct{ want, path string }{
		{"", "/opt/R/4.1.3/bin/R"},        // first configured
		{"4.2.1", "/opt/R/4.2.1/bin/R"},   // exact
		{"4.2.2", "/opt/R/4.2.3/bin/R"},   // same minor, highest patch
		{"4.2", "/opt/R/4.2.3/bin/R"},     // same minor
		{"4.0.5", "/opt/R/4.1.3/bin/R"},   // nearest newer minor
		{"4.3.1", "/opt/R/4.4.0/bin/R"},   // nearest newer minor
		{" 4.1.3 ", "/opt/R/4.1.3/bin/R"}, // spaces
	} {
		got, err := Choose(insts, tc.want)
		if err != nil || got.Path != tc.path {
			t.Errorf("Choose(%q) = %v, %v; want %s", tc.want, got, err, tc.path)
		}
	}
	for _, tc := range []struct{ want, msg string }{
		{"4.5.0", "no R on this node matches platform 4.5.0: it offers 4.1.3 (/opt/R/4.1.3/bin/R)"},
		{"3.6.3", "[R] Executable"},
		{"four", `platform "four" is not an R version`},
	} {
		_, err := Choose(insts, tc.want)
		if podium.ErrorCode(err) != podium.EINVALID || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Choose(%q) = %v; want EINVALID containing %q", tc.want, err, tc.msg)
		}
	}
	if _, err := Choose(nil, ""); err == nil || !strings.Contains(err.Error(), "set [R] Executable") {
		t.Errorf("Choose with no R = %v; want a message naming [R] Executable", err)
	}
}

func TestProbe(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		insts, err := Probe(context.Background(), []string{rExe, rExe})
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) != 1 || insts[0].Path != rExe || !versionRE.MatchString(insts[0].Version) {
			t.Fatalf("Probe = %+v; want one R with a version", insts)
		}
	})
	for name, tc := range map[string]struct{ path, msg string }{
		"ErrRelative": {"R", `[R] Executable "R" must be an absolute path`},
		"ErrNotR":     {"/bin/false", `[R] Executable "/bin/false": cannot run it`},
		"ErrMissing":  {"/nonexistent/R", `[R] Executable "/nonexistent/R": cannot run it`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Probe(context.Background(), []string{tc.path})
			if podium.ErrorCode(err) != podium.EINVALID || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Probe(%s) = %v; want EINVALID containing %q", tc.path, err, tc.msg)
			}
		})
	}
}

func TestParsePackages(t *testing.T) {
	raw := json.RawMessage(`{
	  "shiny": {"Source": "CRAN", "Repository": "https://cran.rstudio.com/", "description": {"Package": "shiny", "Version": "1.7.4", "Imports": "httpuv"}},
	  "BH": {"Source": "CRAN", "description": {"Package": "BH", "Version": "1.81.0-1"}}
	}`)
	got, err := ParsePackages(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{"BH", "1.81.0-1"}, {"shiny", "1.7.4"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ParsePackages = %+v; want %+v", got, want)
	}
	if got, err := ParsePackages(nil); err != nil || got != nil {
		t.Fatalf("ParsePackages(nil) = %v, %v", got, err)
	}
	for _, tc := range []struct{ raw, msg string }{
		{`{"shiny": {"description": {"Package": "shiny"}}}`, `manifest packages["shiny"]: package shiny: description.Version "" is not a package version`},
		{`{"bad name": {"description": {"Version": "1.0"}}}`, `"bad name" is not an R package name`},
		{`["shiny"]`, "manifest packages: must map each package name"},
	} {
		_, err := ParsePackages(json.RawMessage(tc.raw))
		if podium.ErrorCode(err) != podium.EINVALID || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParsePackages(%s) = %v; want EINVALID containing %q", tc.raw, err, tc.msg)
		}
	}
}

func TestSpecFromConnect(t *testing.T) {
	s, err := SpecFromConnect(ModeRmdStatic, "", "report.Rmd", json.RawMessage(`"4.2.2"`),
		json.RawMessage(`{"rmarkdown": {"Source": "CRAN", "description": {"Package": "rmarkdown", "Version": "2.20"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Entrypoint != "report.Rmd" || s.RVersion != "4.2.2" || len(s.Packages) != 1 || s.Packages[0] != (Package{"rmarkdown", "2.20"}) {
		t.Fatalf("SpecFromConnect = %+v", s)
	}
	if _, err := SpecFromConnect(ModeShiny, "app.R", "", json.RawMessage(`4.2`), nil); podium.ErrorCode(err) != podium.EINVALID ||
		!strings.Contains(err.Error(), "manifest platform must be the R version as a string") {
		t.Fatalf("a numeric platform: %v", err)
	}
}
