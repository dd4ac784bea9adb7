// Package migratetest fills a Podium SQLite database with rows of
// realistic shapes in every table, for the tests and the benchmark of
// "podium migrate db". It is for tests and benchmarks only.
package migratetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Sizes is how many rows each table gets. Tables whose rows hang off
// another (api keys, sessions, acl entries, bundles, task output, job
// attempts, renders) are spread over their parents.
type Sizes struct {
	Users, APIKeys, Sessions, LoginAttempts int
	Content, ACL, Bundles                   int
	Tasks, TaskOutput, Renders              int
	Schedules, Jobs, JobAttempts, AuditLog  int
	Settings, Nodes                         int
	// ContentEnv is rows of content_env (schema 70 on; left out of an
	// older database).
	ContentEnv int
	// Leases is rows of leases (schema 50 on).
	Leases int
	// Usage is rows of usage_visits and of usage_sessions each (schema
	// 93 on).
	Usage int
	// Identities, Groups, GroupMembers and GroupACL are rows of
	// user_identities, groups, group_members and content_group_acl
	// (schema 81 on).
	Identities, Groups, GroupMembers, GroupACL int
	// Tags, ContentTags and Vanities are rows of tags, content_tags and
	// vanities (schema 90 on).
	Tags, ContentTags, Vanities int
	// Repositories and GitCredentials are rows of content_repositories
	// and git_credentials (schema 94 on).
	Repositories, GitCredentials int
	// LongTextEvery gives every n-th job attempt a long log (4-16 KiB);
	// 0 means never.
	LongTextEvery int
}

// Small is a few rows in every table: for tests.
func Small() Sizes {
	return Sizes{Users: 12, APIKeys: 10, Sessions: 15, LoginAttempts: 5, Content: 20, ACL: 30, Bundles: 40,
		Tasks: 30, TaskOutput: 200, Renders: 40, Schedules: 10, Jobs: 150, JobAttempts: 200, AuditLog: 300,
		Settings: 5, Nodes: 2, ContentEnv: 8, Leases: 2, Usage: 20,
		Identities: 6, Groups: 5, GroupMembers: 12, GroupACL: 8, Tags: 7, ContentTags: 10, Vanities: 5, Repositories: 4, GitCredentials: 2, LongTextEvery: 50}
}

// Million is just over 1,000,000 rows, most of them job, attempt, task
// output and audit rows: for the benchmark.
func Million() Sizes {
	return Sizes{Users: 500, APIKeys: 600, Sessions: 1000, LoginAttempts: 300, Content: 2000, ACL: 4000, Bundles: 6000,
		Tasks: 10000, TaskOutput: 200000, Renders: 30000, Schedules: 1000, Jobs: 200000, JobAttempts: 200000,
		AuditLog: 350000, Settings: 20, Nodes: 3, ContentEnv: 2000, Leases: 3, Usage: 2000,
		Identities: 300, Groups: 50, GroupMembers: 1000, GroupACL: 500, Tags: 100, ContentTags: 2000, Vanities: 500, Repositories: 200, GitCredentials: 5, LongTextEvery: 100}
}

// Total is the number of rows.
func (s Sizes) Total() int {
	return s.Users + s.APIKeys + s.Sessions + s.LoginAttempts + s.Content + s.ACL + s.Bundles + s.Tasks +
		s.TaskOutput + s.Renders + s.Schedules + s.Jobs + s.JobAttempts + s.AuditLog + s.Settings + s.Nodes + s.ContentEnv + s.Leases + 2*s.Usage +
		s.Identities + s.Groups + s.GroupMembers + s.GroupACL + s.Tags + s.ContentTags + s.Vanities +
		s.Repositories + s.GitCredentials
}

var base = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// at returns a time i steps after base, with microseconds (and, every 7th,
// nanoseconds, which PostgreSQL rounds away).
func at(r *rand.Rand, i int) time.Time {
	t := base.Add(time.Duration(i) * 1237 * time.Millisecond).Add(time.Duration(r.IntN(1_000_000)) * time.Microsecond)
	if i%7 == 0 {
		t = t.Add(time.Duration(r.IntN(1000)))
	}
	return t
}

func json(r *rand.Rand, i int) string {
	switch i % 5 {
	case 0:
		return `{}`
	case 1:
		return fmt.Sprintf(`{"ip": "10.0.%d.%d", "ok": true, "n": %d}`, r.IntN(256), r.IntN(256), r.IntN(1000))
	case 2:
		return fmt.Sprintf(`{"z":1,"a":[1,2.50,{"k":"v\u00e9"}],"e":1e3,"s":"line\nnext %d"}`, i)
	case 3:
		return fmt.Sprintf(`{ "reason" : "password \"wrong\"", "attempt": %d, "dup": 1, "dup": 2 }`, i)
	default:
		return fmt.Sprintf(`{"path":"/content/%d/","bytes":%d,"ratio":%.4f,"nested":{"b":null,"a":false}}`, i, r.IntN(1<<30), r.Float64())
	}
}

func blob(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

var words = strings.Fields("render deploy publish report dashboard notebook api model refresh schedule bundle " +
	"manifest python quarto shiny plumber flask streamlit data étude 数据 naïve café")

func text(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

func nullable[T any](r *rand.Rand, v T) any {
	if r.IntN(4) == 0 {
		return nil
	}
	return v
}

// Fill inserts s's rows into db, a Podium SQLite database at the current
// schema version, in one transaction. seed makes the content repeatable.
func Fill(ctx context.Context, db *sql.DB, s Sizes, seed uint64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	defer tx.Rollback()
	if err := FillTx(ctx, tx, s, seed); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fill: commit: %w", err)
	}
	return nil
}

// FillTx is Fill in tx, which the caller commits (a writer transaction of
// the SQLite provider: sqlite.Provider.WriteTx).
func FillTx(ctx context.Context, tx *sql.Tx, s Sizes, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ins := func(table string, n int, cols string, row func(i int) []any) error {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(strings.Split(cols, ","))), ",")
		st, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, cols, ph))
		if err != nil {
			return fmt.Errorf("fill %s: %w", table, err)
		}
		defer st.Close()
		for i := 1; i <= n; i++ {
			if _, err := st.ExecContext(ctx, row(i)...); err != nil {
				return fmt.Errorf("fill %s row %d: %w", table, i, err)
			}
		}
		return nil
	}
	users, content := max(s.Users, 1), max(s.Content, 1)
	steps := []func() error{
		func() error {
			return ins("nodes", s.Nodes, "id, hostname, pid, version, schema_version, listen, provider, ha_enabled, status, started_at, heartbeat_at, stopped_at, clock_offset_ms, info", func(i int) []any {
				return []any{fmt.Sprintf("node-%04d", i), fmt.Sprintf("host%d.example", i), 1000 + i, "1.0.0", 2, ":3939", "sqlite", i%2 == 0,
					"stopped", at(r, i), at(r, i+10), at(r, i+20), r.IntN(50) - 25, json(r, i)}
			})
		},
		func() error {
			return ins("settings", s.Settings, "key, value, updated_at", func(i int) []any {
				return []any{fmt.Sprintf("setting.%03d", i), text(r, 20), at(r, i)}
			})
		},
		func() error {
			return ins("users", s.Users, "id, username, role, password_hash, locked, created_at, updated_at", func(i int) []any {
				return []any{i, fmt.Sprintf("user%05d", i), []string{"admin", "publisher", "viewer"}[i%3],
					"$argon2id$v=19$m=65536,t=3,p=2$" + fmt.Sprintf("%x", blob(r, 16)), i%11 == 0, at(r, i), at(r, i+5)}
			})
		},
		func() error {
			return ins("api_keys", s.APIKeys, "id, user_id, name, key_hash, prefix, created_at, last_used_at, revoked_at", func(i int) []any {
				return []any{i, 1 + i%users, "key " + text(r, 8), blob(r, 32), fmt.Sprintf("pk_%06d", i), at(r, i), nullable(r, at(r, i+100)), nullable(r, at(r, i+200))}
			})
		},
		func() error {
			return ins("sessions", s.Sessions, "id_hash, user_id, csrf_token, created_at, expires_at", func(i int) []any {
				return []any{blob(r, 32), 1 + i%users, fmt.Sprintf("%x", blob(r, 16)), at(r, i), at(r, i+86400)}
			})
		},
		func() error {
			return ins("login_attempts", s.LoginAttempts, "key, failures, last_at, locked_until", func(i int) []any {
				k := fmt.Sprintf("ip:192.0.2.%d/%d", i%256, i)
				if i%2 == 0 {
					k = fmt.Sprintf("user:user%05d", i)
				}
				return []any{k, r.IntN(10), at(r, i), nullable(r, at(r, i+900))}
			})
		},
		func() error {
			return ins("content", s.Content, "id, guid, name, title, description, owner_id, appmode, access_type, active_bundle_id, settings, created_at, updated_at", func(i int) []any {
				return []any{i, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), fmt.Sprintf("content-%d", i), text(r, 30), text(r, 200),
					1 + i%users, []string{"static", "quarto", "shiny", "api"}[i%4], []string{"acl", "logged_in", "all"}[i%3],
					nullable(r, int64(i)), json(r, i), at(r, i), at(r, i+3)}
			})
		},
		func() error {
			return ins("content_acl", s.ACL, "content_id, user_id, role", func(i int) []any {
				// Distinct (content, user) pairs: user varies fastest.
				return []any{1 + (i-1)/users%content, 1 + (i-1)%users, []string{"viewer", "collaborator"}[i%2]}
			})
		},
		func() error {
			return ins("bundles", s.Bundles, "id, content_id, size, sha256, manifest, created_by, created_at", func(i int) []any {
				return []any{i, 1 + i%content, r.IntN(50 << 20), blob(r, 32), json(r, i), nullable(r, int64(1+i%users)), at(r, i)}
			})
		},
		func() error {
			return ins("tasks", s.Tasks, "id, kind, content_id, user_id, node_id, created_at, finished_at, finished, code, error, result", func(i int) []any {
				return []any{fmt.Sprintf("task-%08d", i), []string{"deploy", "render", "restart"}[i%3], nullable(r, int64(1+i%content)),
					nullable(r, int64(1+i%users)), "node-0001", at(r, i), nullable(r, at(r, i+60)), i%3 != 0, r.IntN(3), "", nullable(r, json(r, i))}
			})
		},
		func() error {
			tasks := max(s.Tasks, 1)
			return ins("task_output", s.TaskOutput, "task_id, line_no, at, line", func(i int) []any {
				return []any{fmt.Sprintf("task-%08d", 1+(i-1)%tasks), (i - 1) / tasks, at(r, i), text(r, 40+r.IntN(80))}
			})
		},
		func() error {
			return ins("renders", s.Renders, "id, content_id, bundle_id, task_id, job_id, node_id, status, started_at, finished_at", func(i int) []any {
				return []any{i, 1 + i%content, 1 + i%max(s.Bundles, 1), nullable(r, fmt.Sprintf("task-%08d", i)), nullable(r, int64(i)),
					"node-0001", []string{"ok", "failed", "running"}[i%3], at(r, i), nullable(r, at(r, i+30))}
			})
		},
		func() error {
			return ins("schedules", min(s.Schedules, content), "content_id, spec, timezone, enabled, next_run_at, updated_at", func(i int) []any {
				return []any{i, "0 */6 * * *", []string{"UTC", "Europe/Paris", "America/New_York"}[i%3], i%4 != 0, nullable(r, at(r, i+3600)), at(r, i)}
			})
		},
		func() error {
			return ins("jobs", s.Jobs, "id, content_id, queue, due_at, status, attempts, max_attempts, claim_token, node_id, heartbeat_at, created_at, started_at, finished_at, exit_code, error", func(i int) []any {
				return []any{i, 1 + i%content, "render", base.Add(time.Duration(i) * time.Second), []string{"done", "failed", "queued", "running"}[i%4],
					r.IntN(3), 3, nullable(r, fmt.Sprintf("%x", blob(r, 8))), nullable(r, "node-0001"), nullable(r, at(r, i+5)),
					at(r, i), nullable(r, at(r, i+1)), nullable(r, at(r, i+9)), nullable(r, int64(r.IntN(3))), []string{"", "", "exit status 1"}[i%3]}
			})
		},
		func() error {
			jobs := max(s.Jobs, 1)
			return ins("job_attempts", s.JobAttempts, "id, job_id, attempt, node_id, claim_token, status, started_at, heartbeat_at, finished_at, exit_code, error, log", func(i int) []any {
				log := text(r, 60+r.IntN(200))
				if s.LongTextEvery > 0 && i%s.LongTextEvery == 0 {
					log = text(r, 4096+r.IntN(12288))
				}
				return []any{i, 1 + (i-1)%jobs, 1 + (i-1)/jobs, "node-0001", fmt.Sprintf("%x", blob(r, 8)), []string{"done", "failed"}[i%2],
					at(r, i), at(r, i+2), nullable(r, at(r, i+7)), nullable(r, int64(r.IntN(2))), "", log}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "content_env"); !ok || err != nil {
				return err
			}
			return ins("content_env", s.ContentEnv, "content_id, name, value, created_at, updated_at", func(i int) []any {
				// Distinct (content, name) pairs: content varies fastest.
				return []any{1 + (i-1)%content, fmt.Sprintf("VAR_%d", (i-1)/content), blob(r, 28+r.IntN(64)), at(r, i), at(r, i+1)}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "leases"); !ok || err != nil {
				return err
			}
			return ins("leases", s.Leases, "name, holder, renewed_at", func(i int) []any {
				return []any{fmt.Sprintf("lease-%d", i), fmt.Sprintf("node-%04d", i), at(r, i)}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "usage_visits"); !ok || err != nil {
				return err
			}
			if err := ins("usage_visits", s.Usage, "id, at, content_id, content_guid, bundle_id, user_id, node_id, path", func(i int) []any {
				return []any{i, at(r, i), 1 + (i-1)%content, fmt.Sprintf("guid-%d", 1+(i-1)%content), nullable(r, int64(1+i%10)),
					nullable(r, int64(1+i%users)), "node-0001", fmt.Sprintf("/page-%d.html", i%4)}
			}); err != nil {
				return err
			}
			return ins("usage_sessions", s.Usage, "id, started_at, ended_at, content_id, content_guid, bundle_id, user_id, node_id", func(i int) []any {
				return []any{i, at(r, i), at(r, i+3), 1 + (i-1)%content, fmt.Sprintf("guid-%d", 1+(i-1)%content), nullable(r, int64(1+i%10)),
					nullable(r, int64(1+i%users)), "node-0002"}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "content_group_acl"); !ok || err != nil {
				return err
			}
			groups := max(s.Groups, 1)
			if err := ins("user_identities", s.Identities, "provider, unique_id, user_id, created_at", func(i int) []any {
				return []any{[]string{"ldap", "oidc", "saml"}[i%3], fmt.Sprintf("uid=%d,ou=people,dc=exämple", i), 1 + (i-1)%users, at(r, i)}
			}); err != nil {
				return err
			}
			if err := ins("groups", s.Groups, "id, name, provider, created_at, updated_at", func(i int) []any {
				return []any{i, fmt.Sprintf("group %d %s", i, text(r, 12)), []string{"", "ldap", "oidc"}[i%3], at(r, i), at(r, i+1)}
			}); err != nil {
				return err
			}
			if err := ins("group_members", min(s.GroupMembers, groups*users), "group_id, user_id, created_at", func(i int) []any {
				// Distinct (group, user) pairs: group varies fastest.
				return []any{1 + (i-1)%groups, 1 + (i-1)/groups%users, at(r, i)}
			}); err != nil {
				return err
			}
			return ins("content_group_acl", min(s.GroupACL, groups*content), "content_id, group_id, role", func(i int) []any {
				return []any{1 + (i-1)/groups%content, 1 + (i-1)%groups, []string{"viewer", "collaborator"}[i%2]}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "vanities"); !ok || err != nil {
				return err
			}
			tags := max(s.Tags, 1)
			if err := ins("tags", s.Tags, "id, name, parent_id, parent_key, created_at, updated_at", func(i int) []any {
				// Three roots; every later tag hangs off one of them.
				var parent any
				key := int64(0)
				if i > 3 {
					key = int64(1 + i%3)
					parent = key
				}
				return []any{i, fmt.Sprintf("tag %d", i), parent, key, at(r, i), at(r, i+1)}
			}); err != nil {
				return err
			}
			if err := ins("content_tags", min(s.ContentTags, tags*content), "content_id, tag_id, created_at", func(i int) []any {
				return []any{1 + (i-1)/tags%content, 1 + (i-1)%tags, at(r, i)}
			}); err != nil {
				return err
			}
			return ins("vanities", min(s.Vanities, content), "content_id, path, created_at", func(i int) []any {
				return []any{i, fmt.Sprintf("/team-%d/report/", i), at(r, i)}
			})
		},
		func() error {
			if ok, err := hasTable(ctx, tx, "content_repositories"); !ok || err != nil {
				return err
			}
			if err := ins("content_repositories", min(s.Repositories, content), "content_id, repository, branch, directory, polling, last_known_commit, bundle_id, last_error, last_fetched_at, created_at, updated_at", func(i int) []any {
				var fetched any
				if i%2 == 0 {
					fetched = at(r, i+2)
				}
				return []any{i, fmt.Sprintf("https://git.example.com/team/repo-%d.git", i), "main", []string{".", "site", "apps/api"}[i%3], i%3 != 0,
					fmt.Sprintf("%040x", i), nullable(r, int64(1+i%10)), []string{"", "fetch: repository not found"}[i%2], fetched, at(r, i), at(r, i+1)}
			}); err != nil {
				return err
			}
			return ins("git_credentials", s.GitCredentials, "host, username, secret, created_at, updated_at", func(i int) []any {
				return []any{fmt.Sprintf("git%d.example.com", i), "deploy-bot", blob(r, 33+i), at(r, i), at(r, i+1)}
			})
		},
		func() error {
			return ins("audit_log", s.AuditLog, "id, at, user_id, node_id, action, object, detail", func(i int) []any {
				return []any{i, at(r, i), nullable(r, int64(1+i%users)), "node-0001", []string{"login", "deploy", "render", "acl.change", "key.create"}[i%5],
					fmt.Sprintf("content:%d", i%content), json(r, i)}
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// hasTable says whether the database has table: tables of later schema
// versions are filled only where they exist, as Fill also prepares
// databases of older versions.
func hasTable(ctx context.Context, tx *sql.Tx, table string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
	return n > 0, err
}
