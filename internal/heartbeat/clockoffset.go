package heartbeat

import "time"

// offsetSamples is how many recent clock measurements the node weighs.
const offsetSamples = 8

// offsetFilter estimates the node's clock offset from the database's the
// way NTP's clock filter does: a measurement taken over a round trip of
// rtt is uncertain by rtt/2 (the database read its clock somewhere in the
// trip), so of the last offsetSamples measurements the one with the
// shortest round trip is the best. One slow round trip (a new connection,
// a loaded database) then cannot report a skew that is not there, and a
// real change of the clock shows within offsetSamples heartbeats.
type offsetFilter struct {
	rtt    [offsetSamples]time.Duration
	offset [offsetSamples]time.Duration
	n, i   int
}

// add records a measurement and returns the current estimate.
func (f *offsetFilter) add(rtt, offset time.Duration) time.Duration {
	f.rtt[f.i], f.offset[f.i] = rtt, offset
	f.i = (f.i + 1) % offsetSamples
	f.n = min(f.n+1, offsetSamples)
	best := 0
	for k := 1; k < f.n; k++ {
		if f.rtt[k] < f.rtt[best] {
			best = k
		}
	}
	return f.offset[best]
}
