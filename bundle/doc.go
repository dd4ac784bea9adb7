// Package bundle reads, checks, unpacks and packs Podium deployment bundles.
//
// A bundle is a gzip-compressed tar archive uploaded by a publisher. It
// carries a manifest.json at its root (see [Manifest] and docs/manifest.md)
// that says what kind of content it holds and how to render or serve it.
//
// [Unpack] extracts an untrusted bundle into a new directory and refuses
// anything that could write outside it, replace files through links, or
// exhaust the disk; [Pack] builds a bundle from a directory for the
// `podium deploy` client, honouring a .podiumignore file.
//
// Every error meant for the publisher is a *podium.Error with code
// podium.EINVALID (a malformed or unsafe bundle or manifest) or
// podium.ETOOLARGE (over a configured bound), whose message names the entry
// or field and the rule it broke.
//
// The package imports only the standard library, the root podium package
// and the runtimes (runtimes, runtimes/rlang: the app modes a manifest
// names and the specs its sections map to); it must not import storage,
// HTTP or logging packages. internal/importrules enforces this.
package bundle
