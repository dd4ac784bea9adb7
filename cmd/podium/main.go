// Command podium is the Podium publishing server and its administration
// tool. See package cli for the commands.
package main

import (
	"context"
	"os"

	"github.com/podiumhq/podium/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
