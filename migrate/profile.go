package migrate

import (
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to write a CPU profile of the run to. It is a
// development aid for tuning the copy (go tool pprof reads the file), not
// a documented setting.
const cpuProfileEnv = "PODIUM_CPUPROFILE"

// startCPUProfile starts the profile asked for by cpuProfileEnv and
// returns the function that ends it; without the variable both do nothing.
func startCPUProfile() func() {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
