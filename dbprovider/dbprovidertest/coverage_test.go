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
// method of dbprovider.Executor (so both dialects run it). A method added
// to the interface fails this test until the suite exercises it.
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
}
