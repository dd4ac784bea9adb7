package podium

import (
	"encoding/json"
	"time"
)

// Audit actions: what an administrator or publisher did. Each is written
// to the audit log (audit_log) with who did it, on which node, on what.
const (
	AuditLogin           = "login"
	AuditLoginFailed     = "login.failed"
	AuditLogout          = "logout"
	AuditUserCreate      = "user.create"
	AuditUserSetPassword = "user.set_password"
	AuditUserLock        = "user.lock"
	AuditUserUnlock      = "user.unlock"
	AuditUserSetRole     = "user.set_role"
	AuditUserEndSessions = "user.end_sessions"
	AuditUserUpdate      = "user.update" // role, lock, name or email changed through the API
	AuditUserDelete      = "user.delete"
	AuditSessionEnd      = "session.end" // a user ended one of their own sessions
	AuditGroupCreate     = "group.create"
	AuditGroupDelete     = "group.delete"
	AuditGroupAddMember  = "group.add_member"
	AuditGroupDelMember  = "group.remove_member"
	AuditKeyCreate       = "key.create"
	AuditKeyRevoke       = "key.revoke"
	AuditContentCreate   = "content.create"
	AuditContentUpdate   = "content.update"
	AuditContentDelete   = "content.delete"
	AuditPermissionsSet  = "permissions.set"
	AuditBundleUpload    = "bundle.upload"
	AuditDeploy          = "deploy"
	AuditRender          = "render"
	AuditScheduleSet     = "schedule.set"
	AuditScheduleDelete  = "schedule.delete"
	AuditProcessesSet    = "processes.set"
	AuditEnvSet          = "environment.set" // the detail names the variables, never their values
	AuditSetup           = "setup"           // the first-run setup created the first administrator
	AuditTagCreate       = "tag.create"
	AuditTagUpdate       = "tag.update"
	AuditTagDelete       = "tag.delete"
	AuditContentTagAdd   = "content.tag_add"
	AuditContentTagDel   = "content.tag_remove"
	AuditVanitySet       = "vanity.set"
	AuditVanityDelete    = "vanity.delete"
	AuditRepositorySet   = "repository.set"
	AuditRepositoryDel   = "repository.delete"
	AuditGitCredSet      = "git_credential.set" // the detail names the host, never the secret
	AuditGitCredDelete   = "git_credential.delete"
)

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// UserID is the actor, nil when unknown (a failed login of an unknown
	// user) or since deleted.
	UserID *int64 `json:"user_id"`
	// Actor is the actor's username, when known.
	Actor  string `json:"actor,omitempty"`
	NodeID string `json:"node_id"`
	Action string `json:"action"`
	// Target is what the action was on ("content:<guid>", "key:<id>",
	// "user:<name>"), "" when none.
	Target string `json:"target"`
	// Detail holds more facts (a JSON object): never secrets, and for
	// environment variables their names only.
	Detail json.RawMessage `json:"detail"`
}
