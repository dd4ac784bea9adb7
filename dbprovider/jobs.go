package dbprovider

// JobStore holds the store methods for schedules, scheduled jobs, their attempts and claims (issue: scheduled rendering).
type JobStore interface{}
