package dbprovidertest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
)

// TestSuiteCallsEveryExecutorMethod: the conformance suite calls every
// method of dbprovider.Executor and of dbprovider.Provider (so both
// dialects run it). A method added to either interface fails this test
// until the suite exercises it.
func TestSuiteCallsEveryExecutorMethod(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	typ := reflect.TypeOf((*dbprovider.Executor)(nil)).Elem()
	if typ.NumMethod() < 50 {
		t.Fatalf("dbprovider.Executor has %d methods: not the interface expected", typ.NumMethod())
	}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if !strings.Contains(src.String(), "."+name+"(") {
			t.Errorf("the conformance suite never calls %s", name)
		}
	}
	// Provider's own methods too: what schema, hacheck and server need of
	// a dialect (issue 25) is added here, and must be conformance-tested.
	// The methods below predate the rule and are tested in the dialects'
	// own packages (Listen, Notify) or through schema's tests; a new
	// method may not join them.
	older := map[string]bool{"Describe": true, "SupportsListenNotify": true, "SupportsSkipLocked": true,
		"RehearsalMethod": true, "Snapshot": true, "Listen": true, "Notify": true}
	ptyp := reflect.TypeOf((*dbprovider.Provider)(nil)).Elem()
	for i := range ptyp.NumMethod() {
		name := ptyp.Method(i).Name
		if _, ok := typ.MethodByName(name); ok || older[name] {
			continue
		}
		if !strings.Contains(src.String(), "."+name+"(") {
			t.Errorf("the conformance suite never calls Provider.%s", name)
		}
	}
}
