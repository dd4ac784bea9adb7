package sqlstore

// This file implements dbprovider.AccountStore.
