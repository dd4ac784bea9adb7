package runtimes

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderNotebook renders a notebook with nbconvert in its environment
// (the local wheel's module is importable only there), with Connect's
// hide_tagged_input: the code of the cell tagged hide_input is gone, its
// output and the other cells' code stay.
func TestRenderNotebook(t *testing.T) {
	t.Parallel()
	m, _ := setup(t, filepath.Join(t.TempDir(), "envs"), true)
	dir := bundleDir(t, "podium-hello==1.0\n")
	cell := func(id, code string, tags ...string) map[string]any {
		md := map[string]any{}
		if len(tags) > 0 {
			md["tags"] = tags
		}
		return map[string]any{"cell_type": "code", "id": id, "metadata": md, "execution_count": nil, "outputs": []any{}, "source": code}
	}
	nb, _ := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{},
		"cells": []any{
			cell("a", "import hello\nVISIBLE_CODE_MARK = 1\nprint('out-a', hello.GREETING)"),
			cell("b", "HIDDEN_CODE_MARK = 2\nprint('out-b', HIDDEN_CODE_MARK * 21)", "hide_input"),
		}})
	if err := os.WriteFile(filepath.Join(dir, "report.ipynb"), nb, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := &Spec{AppMode: ModeJupyterStatic, HideTaggedInput: true}
	env, err := m.Prepare(context.Background(), spec, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, home := t.TempDir(), t.TempDir()
	cmd, err := RenderCommand(spec, env, dir, out, home)
	if err != nil {
		t.Fatal(err)
	}
	p := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
	p.Dir = dir
	p.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}, cmd.Env...)
	if b, err := p.CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", cmd.Argv, err, b)
	}
	b, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"out-a hello from a local wheel", "VISIBLE_CODE_MARK", "out-b 42"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "HIDDEN_CODE_MARK") {
		t.Errorf("the code of the cell tagged hide_input is in the HTML")
	}

	t.Run("ErrNoNotebook", func(t *testing.T) {
		_, err := RenderCommand(&Spec{AppMode: ModeJupyterStatic, Entrypoint: "missing.ipynb"}, env, dir, out, home)
		if err == nil || !strings.Contains(err.Error(), "missing.ipynb") {
			t.Fatalf("err = %v, want one naming missing.ipynb", err)
		}
	})
}
