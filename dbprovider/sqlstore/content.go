package sqlstore

// This file implements dbprovider.ContentStore.
