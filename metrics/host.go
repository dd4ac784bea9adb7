package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostFigures are the resource figures of the host and of this process,
// read from /proc.
type HostFigures struct {
	// CPUBusyPercent is the share of CPU time (all cores) not idle since
	// the previous reading; -1 on the first reading.
	CPUBusyPercent float64
	MemTotalBytes  float64
	MemUsedBytes   float64 // MemTotal - MemAvailable
	Load1          float64
	Load5          float64
	Load15         float64
	// ProcessRSSBytes is this podium process's resident memory.
	ProcessRSSBytes float64
}

// hostReader reads /proc; it remembers the last CPU counters to compute
// busy time between readings. Not safe for concurrent use.
type hostReader struct {
	proc             string
	lastBusy, lastTo uint64
}

func (h *hostReader) read() (HostFigures, error) {
	f := HostFigures{CPUBusyPercent: -1}
	busy, total, err := h.cpu()
	if err != nil {
		return f, err
	}
	if h.lastTo > 0 && total > h.lastTo {
		f.CPUBusyPercent = 100 * float64(busy-min(busy, h.lastBusy)) / float64(total-h.lastTo)
	}
	h.lastBusy, h.lastTo = busy, total
	mem, err := readKV(h.proc + "/meminfo")
	if err != nil {
		return f, err
	}
	f.MemTotalBytes = mem["MemTotal"] * 1024
	f.MemUsedBytes = (mem["MemTotal"] - mem["MemAvailable"]) * 1024
	b, err := os.ReadFile(h.proc + "/loadavg")
	if err != nil {
		return f, fmt.Errorf("host metrics: %w", err)
	}
	if fs := strings.Fields(string(b)); len(fs) >= 3 {
		f.Load1, _ = strconv.ParseFloat(fs[0], 64)
		f.Load5, _ = strconv.ParseFloat(fs[1], 64)
		f.Load15, _ = strconv.ParseFloat(fs[2], 64)
	}
	if st, err := readKV(h.proc + "/self/status"); err == nil {
		f.ProcessRSSBytes = st["VmRSS"] * 1024
	}
	return f, nil
}

// cpu returns the busy and total jiffies of the "cpu" line of /proc/stat.
func (h *hostReader) cpu() (busy, total uint64, err error) {
	b, err := os.ReadFile(h.proc + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("host metrics: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fs := strings.Fields(string(line))
	if len(fs) < 5 || fs[0] != "cpu" {
		return 0, 0, fmt.Errorf("host metrics: unexpected /proc/stat line %q", line)
	}
	for i, s := range fs[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		// user nice system idle iowait irq softirq steal; guest time is
		// already counted in user and nice.
		if i >= 8 {
			break
		}
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total, nil
}

// readKV reads "Key: value [kB]" lines.
func readKV(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("host metrics: %w", err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		if n, err := strconv.ParseFloat(fs[0], 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}
