package publish_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/sirupsen/logrus"
)

func strp(s string) *string { return &s }

// TestEnvVars checks that environment variables are stored encrypted
// (never the plain value), bound to their content and name, read back
// with the key file every node shares, refused with a clear message under
// another key, and readable after a rotation with the old key kept.
func TestEnvVars(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, db := setup(t, "")
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "env"})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "plain-secret-value"
	names, err := svc.EnvUpdate(ctx, u, c.GUID, []publish.EnvVarSet{{Name: "TOKEN", Value: strp(secret)}, {Name: "B", Value: strp("")}})
	if err != nil || strings.Join(names, ",") != "B,TOKEN" {
		t.Fatalf("EnvUpdate = %v, %v", names, err)
	}
	rows, err := db.ContentEnvList(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if bytes.Contains(r.Value, []byte(secret)) {
			t.Fatalf("%s is stored in plain text", r.Name)
		}
	}
	env, err := svc.ContentEnv(ctx, c.ID)
	if err != nil || strings.Join(env, ";") != "B=;TOKEN="+secret {
		t.Fatalf("ContentEnv = %q, %v", env, err)
	}

	t.Run("ErrMovedValue", func(t *testing.T) {
		// A value copied onto another name does not decrypt.
		var token []byte
		for _, r := range rows {
			if r.Name == "TOKEN" {
				token = r.Value
			}
		}
		c2, _ := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "env2"})
		if err := db.ContentEnvSet(ctx, &dbprovider.ContentEnvSetParams{ContentID: c2.ID, Set: []dbprovider.ContentEnvVar{{Name: "TOKEN", Value: token}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ContentEnv(ctx, c2.ID); !podium.IsCode(err, podium.EPRECONDITION) || strings.Contains(err.Error(), secret) {
			t.Fatalf("moved value: %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, bad := range [][]publish.EnvVarSet{
			{{Name: "PATH", Value: strp("x")}},
			{{Name: "9X", Value: strp("x")}},
			{{Name: "A", Value: strp("x")}, {Name: "A", Value: nil}},
			{{Name: "A", Value: strp("a\x00b")}},
		} {
			if _, err := svc.EnvUpdate(ctx, u, c.GUID, bad); !podium.IsCode(err, podium.EINVALID) {
				t.Errorf("%+v: %v, want EINVALID", bad, err)
			}
		}
		if names, _ := svc.EnvNames(ctx, u, c.GUID); strings.Join(names, ",") != "B,TOKEN" {
			t.Errorf("a refused change changed the names: %v", names)
		}
	})
}

// TestEnvVarsKeys checks the key file (created once, shared by a second
// service on the same data directory), a configured key, a wrong key, and
// rotation with EnvPreviousKeys.
func TestEnvVarsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, db := setup(t, "")
	c, _ := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "env"})
	if _, err := svc.EnvUpdate(ctx, u, c.GUID, []publish.EnvVarSet{{Name: "K", Value: strp("v1")}}); err != nil {
		t.Fatal(err)
	}
	dataDir := svc.ContentDir("x")
	dataDir = filepath.Dir(filepath.Dir(dataDir))
	keyFile := filepath.Join(dataDir, publish.EnvKeyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	fileKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := config.ParseEnvironmentKey(string(fileKey))
	if err != nil {
		t.Fatal(err)
	}
	other := func(key []byte, previous ...[]byte) *publish.Service {
		log := logrus.New()
		log.SetOutput(os.Stderr)
		s := publish.New(publish.Options{DB: db, DataDir: dataDir, NodeID: "n2", Log: logrus.NewEntry(log),
			Apps: config.ApplicationsConfig{RenderTimeout: time.Minute}, EnvKey: key, EnvPreviousKeys: previous})
		t.Cleanup(func() { _ = s.Stop(ctx) })
		return s
	}
	// Another node on the same data directory reads the same key file.
	if env, err := other(nil).ContentEnv(ctx, c.ID); err != nil || env[0] != "K=v1" {
		t.Fatalf("second node: %v %v", env, err)
	}
	newKey := make([]byte, 32)
	_, _ = rand.Read(newKey)
	if _, err := other(newKey).ContentEnv(ctx, c.ID); !podium.IsCode(err, podium.EPRECONDITION) || !strings.Contains(err.Error(), "EnvironmentPreviousKeys") {
		t.Fatalf("a node with another key: %v", err)
	}
	// Rotation: the new key with the old one kept reads old values and
	// writes new ones with the new key.
	rotated := other(newKey, k)
	if env, err := rotated.ContentEnv(ctx, c.ID); err != nil || env[0] != "K=v1" {
		t.Fatalf("after rotation: %v %v", env, err)
	}
	if _, err := rotated.EnvUpdate(ctx, u, c.GUID, []publish.EnvVarSet{{Name: "K", Value: strp("v2")}}); err != nil {
		t.Fatal(err)
	}
	if env, err := other(newKey).ContentEnv(ctx, c.ID); err != nil || env[0] != "K=v2" {
		t.Fatalf("with the new key alone: %v %v", env, err)
	}
}
