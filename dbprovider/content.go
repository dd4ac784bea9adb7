package dbprovider

// ContentStore holds the store methods for content, access lists, bundles, tasks and their output, renders (issue: publishing).
type ContentStore interface{}
