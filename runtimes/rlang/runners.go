package rlang

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/podiumhq/podium"
)

// Command is a program to run: argv[0] is the chosen R (absolute, never
// looked up through a PATH) and Env is added to the clean environment the
// supervisor or renderer gives it (which sets PORT, HOME, and for renders
// PODIUM_OUTPUT_DIR).
type Command struct {
	Argv []string
	Env  []string
}

// EntryEnv is the variable that hands the entrypoint file to the R
// expression (never spliced into R code).
const EntryEnv = "PODIUM_R_ENTRYPOINT"

// reconnectScript makes the page's WebSocket reconnectable, as Shiny
// Server and Posit Connect do: Shiny's client reconnects after a lost
// connection only when the app calls session$allowReconnect(TRUE) and the
// socket says it may (its allowReconnect property), which plain runApp's
// socket never does. The socket is the one Shiny would open itself
// ({page path}/websocket/). On reconnection, possibly to another process
// or node, the client sends its input values and the app's server
// function starts again with them. Apps that do not call allowReconnect
// keep Shiny's behaviour: the page greys out on disconnection.
const reconnectScript = `<script>(function(){if(!window.Shiny)return;Shiny.createSocket=function(){` +
	`var p=location.protocol==="https:"?"wss:":"ws:",path=location.pathname;if(!/\/$/.test(path))path+="/";` +
	`var ws=new WebSocket(p+"//"+location.host+path+"websocket/");ws.binaryType="arraybuffer";ws.allowReconnect=true;return ws;};})();</script>`

// reconnectEnv hands reconnectScript to the Shiny launcher.
const reconnectEnv = "PODIUM_SHINY_RECONNECT_SCRIPT"

// The R expressions the runners evaluate. Shiny and Plumber serve on
// 127.0.0.1:$PORT; the proxy strips /content/<guid>, and both frameworks
// use relative URLs, so neither needs its base path.
const (
	shinyExpr = `e <- Sys.getenv("` + EntryEnv + `"); ` +
		`app <- if (nzchar(e)) shiny::shinyAppFile(e) else shiny::shinyAppDir("."); ` +
		`h <- app$httpHandler; ` +
		`app$httpHandler <- function(req) { res <- h(req); ` +
		`if (is.list(res) && is.character(res$content) && length(res$content) == 1 && grepl("</body>", res$content, fixed = TRUE)) ` +
		`res$content <- sub("</body>", paste0(Sys.getenv("` + reconnectEnv + `"), "</body>"), res$content, fixed = TRUE); res }; ` +
		`shiny::runApp(app, port = as.integer(Sys.getenv("PORT")), host = "127.0.0.1", launch.browser = FALSE)`
	plumberExpr = `e <- Sys.getenv("` + EntryEnv + `"); ` +
		`pr <- if (nzchar(e)) plumber::plumb(file = e) else plumber::plumb(dir = "."); ` +
		`pr$run(host = "127.0.0.1", port = as.integer(Sys.getenv("PORT")))`
	rmdExpr = `rmarkdown::render(Sys.getenv("` + EntryEnv + `"), output_dir = Sys.getenv("PODIUM_OUTPUT_DIR"), ` +
		`output_file = "index.html", envir = new.env(), quiet = FALSE)`
)

// env is the environment of every R process run with lib.
func env(lib *Library, entry string) []string {
	vars := []string{"R_LIBS_USER=" + os.DevNull, EntryEnv + "=" + entry}
	if lib.Dir != "" {
		vars = append(vars, "R_LIBS="+lib.Dir)
	}
	return vars
}

// ServeCommand returns the command that serves a Shiny app or Plumber API
// whose bundle is in dir, on 127.0.0.1:$PORT.
//
// Returns EINVALID for a mode that is not served, or a bundle without the
// files the mode runs (naming them).
func ServeCommand(spec *Spec, lib *Library, dir string) (*Command, error) {
	argv := []string{lib.R.Path, "--vanilla", "--slave", "-e"}
	switch spec.AppMode {
	case ModeShiny:
		entry, err := shinyEntry(spec, dir)
		if err != nil {
			return nil, err
		}
		return &Command{Argv: append(argv, shinyExpr), Env: append(env(lib, entry), reconnectEnv+"="+reconnectScript)}, nil
	case ModePlumber:
		entry, err := plumberEntry(spec, dir)
		if err != nil {
			return nil, err
		}
		return &Command{Argv: append(argv, plumberExpr), Env: env(lib, entry)}, nil
	}
	return nil, podium.Errorf(podium.EINVALID, "appmode %q is not an R app served by processes", spec.AppMode)
}

// RenderCommand returns the command that renders an R Markdown bundle
// (copied to dir) into $PODIUM_OUTPUT_DIR/index.html with rmarkdown and
// pandoc.
func RenderCommand(spec *Spec, lib *Library, dir string) (*Command, error) {
	if spec.AppMode != ModeRmdStatic {
		return nil, podium.Errorf(podium.EINVALID, "appmode %q is not a rendered R document", spec.AppMode)
	}
	entry, err := rmdEntry(spec, dir)
	if err != nil {
		return nil, err
	}
	return &Command{Argv: []string{lib.R.Path, "--vanilla", "--slave", "-e", rmdExpr}, Env: env(lib, entry)}, nil
}

// bundleFile checks that the entrypoint e is a file of the bundle in dir
// with one of exts.
func bundleFile(spec *Spec, dir, e string, exts ...string) error {
	ok := false
	for _, x := range exts {
		ok = ok || strings.EqualFold(filepath.Ext(e), x)
	}
	if !fs.ValidPath(e) || !ok {
		return podium.Errorf(podium.EINVALID, "metadata.entrypoint %q for appmode %s must be a %s file of the bundle", e, spec.AppMode, strings.Join(exts, " or "))
	}
	if fi, err := os.Stat(filepath.Join(dir, e)); err != nil || !fi.Mode().IsRegular() {
		return podium.Errorf(podium.EINVALID, "metadata.entrypoint %q for appmode %s is not in the bundle", e, spec.AppMode)
	}
	return nil
}

func exists(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular()
}

// shinyEntry returns the file runApp runs: "" for the bundle directory
// (app.R, or ui.R and server.R), or a single-file app named by the
// entrypoint.
func shinyEntry(spec *Spec, dir string) (string, error) {
	e := spec.Entrypoint
	switch {
	case e == "" || e == "." || strings.EqualFold(e, "app.R") || strings.EqualFold(e, "server.R") || strings.EqualFold(e, "ui.R"):
		if exists(dir, "app.R") || (exists(dir, "ui.R") && exists(dir, "server.R")) {
			return "", nil
		}
		return "", podium.Errorf(podium.EINVALID, "appmode shiny: the bundle needs app.R, or ui.R and server.R, at its root")
	}
	if err := bundleFile(spec, dir, e, ".R"); err != nil {
		return "", err
	}
	return e, nil
}

// plumberEntry returns the file to plumb: "" lets plumber pick
// entrypoint.R, else plumber.R, at the bundle root.
func plumberEntry(spec *Spec, dir string) (string, error) {
	e := spec.Entrypoint
	if e == "" || e == "." || strings.EqualFold(e, "entrypoint.R") {
		if exists(dir, "entrypoint.R") || exists(dir, "plumber.R") {
			return "", nil
		}
		return "", podium.Errorf(podium.EINVALID, "appmode api (Plumber): the bundle needs plumber.R or entrypoint.R at its root")
	}
	if err := bundleFile(spec, dir, e, ".R"); err != nil {
		return "", err
	}
	return e, nil
}

// rmdEntry returns the document to render: the entrypoint, else index.Rmd,
// else the only .Rmd at the bundle root.
func rmdEntry(spec *Spec, dir string) (string, error) {
	if e := spec.Entrypoint; e != "" {
		if err := bundleFile(spec, dir, e, ".Rmd"); err != nil {
			return "", err
		}
		return e, nil
	}
	if exists(dir, "index.Rmd") {
		return "index.Rmd", nil
	}
	var found []string
	ents, _ := os.ReadDir(dir)
	for _, d := range ents {
		if !d.IsDir() && strings.EqualFold(filepath.Ext(d.Name()), ".Rmd") {
			found = append(found, d.Name())
		}
	}
	if len(found) != 1 {
		return "", podium.Errorf(podium.EINVALID, "appmode rmd-static: set metadata.primary_rmd (or entrypoint) to the document to render (the bundle root holds %d .Rmd files)", len(found))
	}
	return found[0], nil
}
