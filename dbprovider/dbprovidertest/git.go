package dbprovidertest

import (
	"bytes"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testGit: a repository per content, replaced (a new location forgets the
// last commit, a polling change keeps it), commits recorded by compare and
// set inside a transaction (the loser of a race gets ECONFLICT), checks
// recorded with their error, and credentials per host.
func testGit(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	_, err := p.RepositoryGet(ctx, c.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.RepositorySet(ctx, &dbprovider.RepositorySetParams{ContentID: 1 << 40, Repository: "https://x/", Branch: "main", Directory: "."})
	AssertCode(t, err, podium.ECONFLICT)
	r, err := p.RepositorySet(ctx, &dbprovider.RepositorySetParams{ContentID: c.ID, Repository: "https://git.example.com/a.git", Branch: "main", Directory: ".", Polling: true})
	if err != nil || r.ContentGUID != c.GUID || !r.Polling || r.LastKnownCommit != "" || r.BundleID != nil || r.LastFetchedAt != nil {
		t.Fatalf("RepositorySet = %+v, %v", r, err)
	}
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: make([]byte, 32), CreatedBy: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.RepositoryRecordCommit(ctx, &dbprovider.RepositoryRecordCommitParams{ContentID: c.ID, Previous: "", Commit: "c1", BundleID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// A second node that saw the same old commit loses.
	err = p.RepositoryRecordCommit(ctx, &dbprovider.RepositoryRecordCommitParams{ContentID: c.ID, Previous: "", Commit: "c1", BundleID: b.ID})
	AssertCode(t, err, podium.ECONFLICT)
	err = p.RepositoryRecordCommit(ctx, &dbprovider.RepositoryRecordCommitParams{ContentID: 1 << 40, Previous: "", Commit: "c1", BundleID: b.ID})
	AssertCode(t, err, podium.ENOTFOUND)
	if err := p.RepositoryRecordCheck(ctx, c.ID, "branch main not found"); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.RepositoryRecordCheck(ctx, 1<<40, ""), podium.ENOTFOUND)
	r, err = p.RepositoryGet(ctx, c.ID)
	if err != nil || r.LastKnownCommit != "c1" || r.BundleID == nil || *r.BundleID != b.ID || r.LastError != "branch main not found" || r.LastFetchedAt == nil {
		t.Fatalf("RepositoryGet after a commit and a check = %+v, %v", r, err)
	}
	// Polling off keeps what was seen; another branch forgets it.
	r, err = p.RepositorySet(ctx, &dbprovider.RepositorySetParams{ContentID: c.ID, Repository: r.Repository, Branch: "main", Directory: ".", Polling: false})
	if err != nil || r.Polling || r.LastKnownCommit != "c1" {
		t.Fatalf("RepositorySet polling off = %+v, %v", r, err)
	}
	list, err := p.RepositoryListPolling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.ContentID == c.ID {
			t.Fatalf("RepositoryListPolling lists content %d, which no longer polls", c.ID)
		}
	}
	r, err = p.RepositorySet(ctx, &dbprovider.RepositorySetParams{ContentID: c.ID, Repository: r.Repository, Branch: "release", Directory: "site", Polling: true})
	if err != nil || r.LastKnownCommit != "" || r.BundleID != nil || r.LastError != "" || r.Branch != "release" || r.Directory != "site" {
		t.Fatalf("RepositorySet new branch = %+v, %v", r, err)
	}
	list, err = p.RepositoryListPolling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range list {
		found = found || x.ContentID == c.ID
	}
	if !found {
		t.Fatalf("RepositoryListPolling misses content %d", c.ID)
	}
	if err := p.RepositoryDelete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.RepositoryDelete(ctx, c.ID), podium.ENOTFOUND)

	host := "git-" + c.GUID + ".example.com"
	secret := []byte{1, 0, 2, 0xff}
	cred, err := p.GitCredentialSet(ctx, &podium.GitCredential{Host: host, Username: "bot", Secret: secret})
	if err != nil || cred.Host != host || !bytes.Equal(cred.Secret, secret) {
		t.Fatalf("GitCredentialSet = %+v, %v", cred, err)
	}
	if _, err := p.GitCredentialSet(ctx, &podium.GitCredential{Host: host, Username: "bot2", Secret: []byte{9}}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.GitCredentialGet(ctx, host); err != nil || got.Username != "bot2" || !bytes.Equal(got.Secret, []byte{9}) {
		t.Fatalf("GitCredentialGet = %+v, %v", got, err)
	}
	creds, err := p.GitCredentialList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range creds {
		if x.Host == host {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("GitCredentialList has %s %d times", host, n)
	}
	if err := p.GitCredentialDelete(ctx, host); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.GitCredentialDelete(ctx, host), podium.ENOTFOUND)
	_, err = p.GitCredentialGet(ctx, host)
	AssertCode(t, err, podium.ENOTFOUND)
}
