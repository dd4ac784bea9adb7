package bundle

import (
	"encoding/json"

	"github.com/podiumhq/podium/runtimes/rlang"
)

// The R app modes, with Connect's names: package runtimes/rlang runs them.
// Connect's "api" (a Plumber API) is Podium's AppModeAPI: IsR tells them
// apart by the manifest.
const (
	AppModeShiny     AppMode = rlang.ModeShiny
	AppModeRmdStatic AppMode = rlang.ModeRmdStatic
)

// IsR reports whether the manifest is R content run by package
// runtimes/rlang: appmode shiny or rmd-static, or appmode api without
// serve and render in a Connect manifest (it has platform, packages or
// metadata.entrypoint), which is a Plumber API. Podium's own api, with
// serve.command, is never R (see docs/runtimes-r.md).
func (m *Manifest) IsR() bool {
	switch m.Metadata.AppMode {
	case AppModeShiny, AppModeRmdStatic:
		return true
	case AppModeAPI:
		return m.Serve == nil && m.Render == nil && (len(m.Packages) > 0 || len(m.Platform) > 0 || m.Metadata.Entrypoint != "")
	}
	return false
}

// RSpec returns what package runtimes/rlang needs of the manifest, nil
// for content that is not R (see IsR). This is the one place where the
// manifest's fields map to the R runtime.
//
// Returns EINVALID naming the field for a platform, packages section or
// metadata.primary_rmd that cannot be read.
func (m *Manifest) RSpec() (*rlang.Spec, error) {
	if !m.IsR() {
		return nil, nil
	}
	var primaryRmd string
	if raw := m.Metadata.PrimaryRmd; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &primaryRmd); err != nil {
			return nil, invalidf("metadata.primary_rmd must be the document's file name as a string, not %s", raw)
		}
		if primaryRmd != "" && !validBundlePath(primaryRmd) {
			return nil, invalidf("metadata.primary_rmd %q must be a relative slash-separated path inside the bundle", primaryRmd)
		}
	}
	if e := m.Metadata.Entrypoint; e != "" && !validBundlePath(e) {
		return nil, invalidf("metadata.entrypoint %q must be a relative slash-separated path inside the bundle", e)
	}
	return rlang.SpecFromConnect(string(m.Metadata.AppMode), m.Metadata.Entrypoint, primaryRmd, m.Platform, m.Packages)
}
