// Package metrics holds a node's own figures: the round-robin store under
// [Metrics] DataPath that the dashboard charts (Store), the exclusive claim
// a node takes on that folder (Claim), the sampler that reads /proc and the
// node's parts every [Metrics] Interval (Sampler), the Prometheus registry
// and collectors (Registry), and the Graphite plaintext sender (Graphite).
//
// It imports neither server nor web: the server package wires the node's
// parts into it through the small hook types here (Sources, Registry's
// metric vectors), so that scheduler, apps and the dashboard can use it
// without import cycles.
package metrics
