package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The user documentation must describe every key and its environment
// variable, and the key table must cover every field of Config.
func TestKeysDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	current := ""
	for _, k := range keys() {
		if k.section != current {
			current = k.section
			if !strings.Contains(text, "### ["+k.section+"]") {
				t.Errorf("docs/configuration.md lacks a heading for [%s]", k.section)
			}
		}
		for _, w := range []string{"| `" + k.name + "` |", "`" + k.env() + "`"} {
			if !strings.Contains(text, w) {
				t.Errorf("docs/configuration.md lacks %s for %s", w, k.label())
			}
		}
	}
}

// Every key of the table points at a distinct field, and the table has as
// many keys as Config has fields (Source aside), so a field added to Config
// without a key fails here.
func TestKeysCoverConfig(t *testing.T) {
	t.Parallel()
	c := &Config{}
	seen := map[any]string{}
	for _, k := range keys() {
		p := k.field(c)
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share a field", k.label(), other)
		}
		seen[p] = k.label()
	}
	fields := 0
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if f := ct.Field(i); f.Type.Kind() == reflect.Struct {
			fields += f.Type.NumField()
			if !slices.Contains(sections, f.Name) {
				t.Errorf("section %s is not in the sections list", f.Name)
			}
		}
	}
	if len(seen) != fields {
		t.Errorf("key table has %d keys, Config has %d fields", len(seen), fields)
	}
}
