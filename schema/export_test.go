package schema

import "io/fs"

// SetExtraMigrations replaces the build-tagged extra migrations of both
// dialects (keyed "sqlite" and "postgres"; nil for none) and returns the
// function that restores them. Tests that call it must not run in
// parallel with others: Latest and List change for the whole process.
func SetExtraMigrations(m map[string]fs.FS) (restore func()) {
	old := extra
	extra = map[string]fs.FS{}
	for k, v := range m {
		extra[k] = v
	}
	return func() { extra = old }
}

// Overlay reads from a, then b, as the build-tagged extras do.
func Overlay(a, b fs.FS) fs.FS { return overlay{a, b} }
