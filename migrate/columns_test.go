package migrate

import (
	"testing"
	"time"
)

func TestParseTimeFastAgreesWithTimeParse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2026-11-25 21:00:00.123+00:00",
		"2026-11-25 21:00:00.123456789+00:00",
		"2026-11-25T21:00:00Z",
		"2026-11-25 21:00:00-05:30",
		"2026-11-25 21:00:00",
		"2024-02-29 23:59:59.5+01:00",
	} {
		fast, ok := parseTimeFast(s)
		if !ok {
			t.Errorf("%q: fast parser refused it", s)
			continue
		}
		var slow time.Time
		var err error
		for _, l := range timeLayouts {
			if slow, err = time.Parse(l, s); err == nil {
				break
			}
		}
		if err != nil || !fast.Equal(slow) {
			t.Errorf("%q: fast %v, time.Parse %v (%v)", s, fast, slow, err)
		}
	}
	for _, s := range []string{"2026-02-30 00:00:00", "2026-13-01 00:00:00", "2026-11-25 21:00", "yesterday", "2026-11-25 21:00:00+0100"} {
		if _, ok := parseTimeFast(s); ok {
			t.Errorf("%q: accepted", s)
		}
	}
}

func TestCanonicalJSONMatchesJSONBEquality(t *testing.T) {
	t.Parallel()
	same := [][2]string{
		{`{"b":1,"a":2}`, `{ "a" : 2 , "b" : 1 }`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`[1.50, 1e2, -0, 0.0]`, `[1.5,100,0,0]`},
		{`"\u00e9\/"`, `"é/"`},
		{`{"k":[true,false,null]}`, "{\"k\" :\n[true, false, null]}"},
	}
	for _, p := range same {
		a, err1 := appendCanonicalJSON(nil, p[0])
		b, err2 := appendCanonicalJSON(nil, p[1])
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s and %s: %q (%v) vs %q (%v)", p[0], p[1], a, err1, b, err2)
		}
	}
	for _, bad := range []string{`{"a":}`, `"\u0000"`, `[1,]`, `01`, `"\ud800"`, "\"a\tb\"", `{} x`} {
		if _, err := appendCanonicalJSON(nil, bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
