package sqlstore

// This file implements dbprovider.JobStore.
