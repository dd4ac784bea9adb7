package rlang

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/podiumhq/podium"
)

// App modes, with the names Posit Connect gives them.
const (
	// ModeShiny is an R Shiny app (app.R, or ui.R and server.R).
	ModeShiny = "shiny"
	// ModeRmdStatic is an R Markdown document rendered to HTML.
	ModeRmdStatic = "rmd-static"
	// ModePlumber is a Plumber API (plumber.R or entrypoint.R). Connect
	// calls it "api", the name Podium's own manifest gives a
	// command-based API: a bundle is a Plumber API when its manifest is
	// Connect's (it has platform or packages and no serve.command); see
	// docs/runtimes-r.md.
	ModePlumber = "api"
)

// Spec is what the R runtime needs to know of a bundle. The manifest of
// the bundle fills it (Connect's field names in parentheses).
type Spec struct {
	// AppMode is ModeShiny, ModeRmdStatic or ModePlumber
	// (metadata.appmode).
	AppMode string
	// Entrypoint is the app's or document's file, "" to find it
	// (metadata.entrypoint, or metadata.primary_rmd for documents).
	Entrypoint string
	// RVersion is the R version the bundle was made with (platform).
	RVersion string
	// Packages is the package set to restore (packages).
	Packages []Package
}

// Package is one R package a bundle needs.
type Package struct {
	// Name is the package's name, such as "shiny".
	Name string `json:"name"`
	// Version is the version recorded by the client; the package is
	// satisfied by this version or a newer one.
	Version string `json:"version"`
}

var (
	pkgNameRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$`)
	pkgVersionRE = regexp.MustCompile(`^[0-9]+([.-][0-9]+)+$`)
)

// ParsePackages reads the packages section of a Connect manifest, as the R
// rsconnect client writes it:
//
//	"packages": {"shiny": {"Source": "CRAN", "Repository": "…",
//	    "description": {"Package": "shiny", "Version": "1.7.4", …}}}
//
// Returns EINVALID, naming the package, for an entry without a valid name
// or version.
func ParsePackages(raw json.RawMessage) ([]Package, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var section map[string]struct {
		Description map[string]any `json:"description"`
	}
	if err := json.Unmarshal(raw, &section); err != nil {
		return nil, podium.Errorf(podium.EINVALID, "manifest packages: must map each package name to its description: %v", err)
	}
	out := make([]Package, 0, len(section))
	for name, e := range section {
		p := Package{Name: name}
		if n, ok := e.Description["Package"].(string); ok && n != "" {
			p.Name = n
		}
		v, _ := e.Description["Version"].(string)
		p.Version = strings.TrimSpace(v)
		if err := p.valid(); err != nil {
			return nil, podium.Errorf(podium.EINVALID, "manifest packages[%q]: %v", name, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (p Package) valid() error {
	if !pkgNameRE.MatchString(p.Name) {
		return fmt.Errorf("%q is not an R package name", p.Name)
	}
	if !pkgVersionRE.MatchString(p.Version) {
		return fmt.Errorf("package %s: description.Version %q is not a package version such as 1.2.3", p.Name, p.Version)
	}
	return nil
}

// IsR reports whether mode is one of the R modes. Note that ModePlumber
// ("api") is also Podium's own command-based API: the caller decides by
// the manifest (see ModePlumber).
func IsR(mode string) bool {
	return mode == ModeShiny || mode == ModeRmdStatic || mode == ModePlumber
}

// SpecFromConnect builds the Spec of a bundle from its Connect manifest,
// as the R rsconnect client writes it: metadata.appmode, metadata.entrypoint
// (or metadata.primary_rmd for a document), platform (the R version, a JSON
// string such as "4.2.2") and packages (raw JSON, see ParsePackages).
//
// Returns EINVALID naming the field for a platform that is not a string or
// a packages section that ParsePackages refuses.
func SpecFromConnect(appMode, entrypoint, primaryRmd string, platform, packages json.RawMessage) (*Spec, error) {
	s := &Spec{AppMode: appMode, Entrypoint: entrypoint}
	if appMode == ModeRmdStatic && primaryRmd != "" {
		s.Entrypoint = primaryRmd
	}
	if p := bytes.TrimSpace(platform); len(p) > 0 && string(p) != "null" {
		if err := json.Unmarshal(p, &s.RVersion); err != nil {
			return nil, podium.Errorf(podium.EINVALID, "manifest platform must be the R version as a string, such as \"4.2.2\", not %s", p)
		}
	}
	pkgs, err := ParsePackages(packages)
	if err != nil {
		return nil, err
	}
	s.Packages = pkgs
	return s, nil
}
