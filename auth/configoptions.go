package auth

import "github.com/podiumhq/podium/config"

// OptionsFromConfig returns the options of the accounts service for cfg
// ([Authentication], [Authorization], [Password]): base's fields where set (tests set the
// hash cost and the throttle), cfg's for the session lifetimes and the
// password policy that base leaves zero.
func OptionsFromConfig(cfg *config.Config, base Options) Options {
	if base.SessionTTL == 0 {
		base.SessionTTL = cfg.Authentication.SessionLifetime
	}
	if base.SessionIdleTimeout == 0 {
		base.SessionIdleTimeout = cfg.Authentication.SessionIdleTimeout
	}
	if base.Password.MinimumLength == 0 {
		base.Password.MinimumLength = cfg.Password.MinimumLength
	}
	if !base.LinkExistingUsers {
		base.LinkExistingUsers = cfg.Authentication.LinkExistingUsers
	}
	if base.Roles.Default == "" && !base.Roles.Mapped() {
		base.Roles = RoleMapping{
			Default:   cfg.Authorization.DefaultUserRole,
			Admin:     cfg.Authorization.AdministratorRoleMapping,
			Publisher: cfg.Authorization.PublisherRoleMapping,
			Viewer:    cfg.Authorization.ViewerRoleMapping,
		}
	}
	return base
}
