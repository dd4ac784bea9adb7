//go:build unix

package bundle_test

import (
	"bytes"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
)

func TestPackFIFO(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bundle.Pack(t.Context(), src, &bytes.Buffer{})
	checkErr(t, err, podium.EINVALID, `"pipe"`, "not a regular file", bundle.IgnoreFile)
}
