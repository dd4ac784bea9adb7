package testutil

import "testing"

func TestParseScale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{in: "", want: 1},
		{in: "3", want: 3},
		{in: "1.5", want: 1.5},
		{in: "0", wantErr: true},
		{in: "-2", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "fast", wantErr: true},
	} {
		got, err := parseScale(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseScale(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
