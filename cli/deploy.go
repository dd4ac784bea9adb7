package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/client"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command { return a.deployCmd() })
}

// deployOptions are the flags of podium deploy.
type deployOptions struct {
	server, apiKey, title, guid, name string
	poll                              time.Duration
}

func (a *app) deployCmd() *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "deploy DIR",
		Short: "Publish a directory to a Podium server",
		Long: `Pack DIR (honouring its .podiumignore) into a bundle, create or update the
content, upload the bundle, deploy it, stream the deployment's output while it
runs, and print the content's URL.

The content is found by --content GUID, else by --name (default: the
directory's name) among your own content; it is created when there is none.

DIR must hold a manifest.json (see docs/manifest.md). The server and key come
from --server/--api-key or PODIUM_SERVER/PODIUM_API_KEY.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("deploy takes one directory, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server == "" {
				o.server, _ = a.env.LookupEnv("PODIUM_SERVER")
			}
			if o.apiKey == "" {
				o.apiKey, _ = a.env.LookupEnv("PODIUM_API_KEY")
			}
			if o.server == "" {
				return usageError{errors.New("deploy needs --server URL (or PODIUM_SERVER)")}
			}
			if o.apiKey == "" {
				return usageError{errors.New("deploy needs --api-key KEY (or PODIUM_API_KEY)")}
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			return a.deploy(ctx, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "the server's URL, e.g. http://localhost:3939 (default $PODIUM_SERVER)")
	f.StringVar(&o.apiKey, "api-key", "", "your API key (default $PODIUM_API_KEY)")
	f.StringVar(&o.title, "title", "", "the content's title")
	f.StringVar(&o.guid, "content", "", "the GUID of the content to update")
	f.StringVar(&o.name, "name", "", "the content's name (default: the directory's name)")
	f.DurationVar(&o.poll, "poll-interval", 500*time.Millisecond, "how often to poll the deployment's progress")
	return cmd
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultName turns a directory name into a content name.
func defaultName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	n := strings.Trim(unsafeName.ReplaceAllString(filepath.Base(abs), "-"), "-._")
	if n == "" {
		n = "content"
	}
	return n[:min(len(n), 64)]
}

func (a *app) deploy(ctx context.Context, dir string, o deployOptions) error {
	out, errw := a.env.Stdout, a.env.Stderr
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return podium.Errorf(podium.EINVALID, "%s is not a directory", dir)
	}
	c, err := client.New(client.Options{Server: o.server, APIKey: podium.Secret(o.apiKey), UserAgent: "podium-deploy/" + a.env.Version})
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp("", "podium-bundle-*.tar.gz")
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	st, err := bundle.Pack(ctx, dir, tmp)
	if err != nil {
		return err
	}
	size, err := tmp.Seek(0, 2)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	fmt.Fprintf(errw, "Bundle: %d files, %d bytes (%d ignored), %d bytes compressed\n", st.Files, st.Bytes, st.Ignored, size)

	content, err := a.deployTarget(ctx, c, dir, o)
	if err != nil {
		return apiError(err)
	}
	fmt.Fprintf(errw, "Content: %s (%s)\n", content.GUID, content.Name)
	b, err := c.BundleUpload(ctx, content.GUID, tmp, size)
	if err != nil {
		return apiError(err)
	}
	fmt.Fprintf(errw, "Uploaded bundle %d\n", b.ID)
	taskID, err := c.Deploy(ctx, content.GUID, b.ID)
	if err != nil {
		return apiError(err)
	}
	t, err := c.WaitTask(ctx, taskID, o.poll, func(line string) { fmt.Fprintln(errw, "  "+line) })
	if err != nil {
		return apiError(err)
	}
	if t.Code != 0 {
		return podium.Errorf(podium.EPRECONDITION, "deployment failed: %s", t.Error)
	}
	fmt.Fprintln(out, content.ContentURL)
	return nil
}

// deployTarget finds or creates the content to deploy to, and applies
// --title and --name.
func (a *app) deployTarget(ctx context.Context, c *client.Client, dir string, o deployOptions) (*client.Content, error) {
	fields := client.ContentFields{Name: o.name, Title: o.title}
	if o.guid != "" {
		ct, err := c.ContentGet(ctx, o.guid)
		if err != nil {
			return nil, err
		}
		if fields != (client.ContentFields{}) {
			return c.ContentUpdate(ctx, ct.GUID, fields)
		}
		return ct, nil
	}
	if fields.Name == "" {
		fields.Name = defaultName(dir)
	}
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.ContentList(ctx, fields.Name, me.ID)
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		ct := list[len(list)-1]
		if o.title != "" && o.title != ct.Title {
			return c.ContentUpdate(ctx, ct.GUID, client.ContentFields{Title: o.title})
		}
		return ct, nil
	}
	if fields.Title == "" {
		fields.Title = fields.Name
	}
	return c.ContentCreate(ctx, fields)
}

// apiError turns a server's error answer into a podium error (for the exit
// code) with the server's message.
func apiError(err error) error {
	var e *client.Error
	if errors.As(err, &e) {
		code := e.PodiumCode()
		if e.Status == http.StatusUnauthorized {
			return podium.Errorf(code, "the server refused the API key: %s", e.Message)
		}
		return podium.Errorf(code, "%s", e.Error())
	}
	return err
}
