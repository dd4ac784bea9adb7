package auth_test

import (
	"testing"
	"time"

	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
)

// TestOptionsFromConfig: the configuration fills what the base options
// leave zero; what the base sets (tests' cheap settings) wins.
func TestOptionsFromConfig(t *testing.T) {
	cfg := config.Defaults()
	cfg.Authentication.SessionLifetime = 3 * time.Hour
	cfg.Password.MinimumLength = 17
	got := auth.OptionsFromConfig(cfg, auth.Options{SessionIdleTimeout: time.Minute})
	if got.SessionTTL != 3*time.Hour || got.Password.MinimumLength != 17 || got.SessionIdleTimeout != time.Minute {
		t.Fatalf("options = %+v, want the session lifetime and password length from cfg, the idle timeout from base", got)
	}
	if got.Roles.Default != cfg.Authorization.DefaultUserRole {
		t.Fatalf("default role %q, want [Authorization] DefaultUserRole %q", got.Roles.Default, cfg.Authorization.DefaultUserRole)
	}
}
