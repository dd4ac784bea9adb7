package config

import (
	"fmt"
	"strconv"
	"strings"
)

// UIDRange returns the first and last uid of SandboxUIDRange ("first-last",
// first above 0 and at most last).
func (a *ApplicationsConfig) UIDRange() (first, last uint32, err error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(a.SandboxUIDRange), "-")
	f, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 32)
	l, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 32)
	if !ok || err1 != nil || err2 != nil || f == 0 || l < f || l >= 1<<32-1 {
		return 0, 0, fmt.Errorf("must be a range of uids first-last such as 200000-299999, first above 0 and at most last")
	}
	return uint32(f), uint32(l), nil
}
