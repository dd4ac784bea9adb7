package server

// mounts are the parts of the node that add routes, middleware and services
// once the database is open and the web server exists. Each area (accounts,
// publishing, scheduling, apps, metrics) appends its mount function from an
// init function in its own file, so no area edits Open.
var mounts []func(n *Node) error
