// Package importrules holds the test that enforces the import rules the
// package comments state in prose (root package standard library only,
// sqlstore only behind dbprovider, test harnesses only in tests, ...).
// make vet runs it; it has no code of its own.
package importrules
