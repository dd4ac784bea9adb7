// Package rlang runs R content from its source: it knows the R
// installations a node offers ([R] Executable, probed at start), picks one
// for a bundle (the manifest's platform version), restores the bundle's R
// packages (the manifest's packages section) into a library kept in a
// cache in the shared data directory that every node reuses, and turns an
// app mode and entrypoint into the command that the app supervisor
// (package apps) or the renderer (package publish) runs: a Shiny app, an
// R Markdown document, a Plumber API.
//
// Layout under the cache root ({DataDir}/runtimes/r):
//
//	<key>/            a finished library, renamed into place whole
//	<key>.lock        the lock its builders share (flock)
//	.build-<key>-*/   a library being built (never used)
//
// The key is a hash of the R installation (path and version), the
// repository ([R] Repository) and the exact package set, so a second
// deployment of the same packages, on any node, builds nothing.
//
// The package knows nothing of manifests or HTTP: callers hand it a
// [Spec]. It imports the root package podium and logrus only.
package rlang
