// Command podium is the Podium publishing server and its administration
// tool. See package cli for the commands.
//
// main is the composition point: it hands cli the binary's version and
// the node that podium serve runs (a server.Node), so that cli does not
// import server.
package main

import (
	"context"
	"os"

	"github.com/podiumhq/podium/cli"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/server"
	"github.com/sirupsen/logrus"
)

// version is this binary's version, set at build time with
// -ldflags "-X main.version=..." (the Makefile's and Dockerfile's
// VERSION_VAR).
var version = "dev"

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Version: version, NewNode: newNode}))
}

// newNode is the node podium serve opens and runs.
func newNode(cfg *config.Config, log *logrus.Logger) cli.Node {
	n := server.New(cfg, log)
	n.Version = version
	return n
}
