// Package apps runs hosted applications and APIs (content whose manifest
// appmode is "app" or "api") and proxies their requests.
//
// A [Supervisor] keeps, per node and per content item, a pool of worker
// processes started from the manifest's serve command. It grows the pool
// when the least-loaded process is busier than the load factor allows,
// stops idle processes beyond the minimum, replaces processes that crash or
// never listen (with backoff), and drains the processes of an old bundle
// after a redeploy. Its proxy passes plain HTTP (streaming both ways),
// Server-Sent Events and WebSockets, and tracks hijacked connections so a
// stopping node closes them.
//
// The package knows content only through [AppSource]; it imports the root
// package podium, echo and logrus, never a database driver or package web.
// Its process endpoints are package web's ProcessRoutes, a handler that
// holds the supervisor as a [ProcessService].
package apps
