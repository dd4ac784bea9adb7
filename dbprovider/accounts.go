package dbprovider

// AccountStore holds the store methods for users, API keys, sessions and login throttling (issue: publishing).
type AccountStore interface{}
