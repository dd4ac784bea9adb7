// Package runtimes runs Python content from its source: it knows the
// Python interpreters a node offers ([Python] Executable, probed at start),
// picks one for a bundle (python.version or environment.python.requires),
// builds the bundle's package environment (a virtual environment from its
// requirements file, with pip, from the configured package source), keeps
// the environments in a cache in the shared data directory that every node
// reuses, and turns an app mode and entrypoint into the command that the
// app supervisor (package apps) or the renderer (package publish) runs.
//
// Layout under the cache root ({DataDir}/runtimes/python):
//
//	<key>/            a finished environment, renamed into place whole
//	<key>.lock        the lock its builders share (flock)
//	.build-<key>-*/   an environment being built (never used)
//	.trash-*          an environment being removed
//
// The key is a hash of the interpreter (path and version), the exact
// package set (the requirements file, normalised) and the package source
// settings, so a second deployment of the same packages, on any node,
// builds nothing.
//
// The package knows nothing of manifests or HTTP: callers hand it a
// [Spec]. It imports the root package podium and logrus only.
package runtimes
