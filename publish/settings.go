package publish

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// settingsStore is what the content settings helpers need of the
// database: the settings document (content.settings, a JSON object with
// one key per kind of setting) and its compare-and-set.
type settingsStore interface {
	ContentSettingsGet(ctx context.Context, contentID int64) ([]byte, error)
	ContentSettingsSwap(ctx context.Context, contentID int64, old, next []byte) (bool, error)
}

var _ settingsStore = dbprovider.Provider(nil)

// ContentSetting is one key of the content settings document and its
// value type: the "processes" overrides, the "sandbox" settings.
type ContentSetting[T any] struct {
	// Key is the key of the value in the document.
	Key string
	// Absent returns the value of content whose document has no Key
	// (nil: the zero T).
	Absent func(ctx context.Context, contentID int64) (T, error)
}

// read returns the raw document of content contentID, the document, and
// the value under Key.
func (cs ContentSetting[T]) read(ctx context.Context, db settingsStore, contentID int64) (raw []byte, doc map[string]json.RawMessage, v T, err error) {
	if raw, err = db.ContentSettingsGet(ctx, contentID); err != nil {
		return nil, nil, v, fmt.Errorf("%s settings: %w", cs.Key, err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, nil, v, podium.Errorf(podium.EINTERNAL, "%s settings of content %d: content.settings is not a JSON object: %v", cs.Key, contentID, err)
	}
	b, ok := doc[cs.Key]
	if !ok {
		if cs.Absent != nil {
			v, err = cs.Absent(ctx, contentID)
		}
		return raw, doc, v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, nil, v, podium.Errorf(podium.EINTERNAL, "%s settings of content %d: %v", cs.Key, contentID, err)
	}
	return raw, doc, v, nil
}

// Get returns the value of content contentID.
func (cs ContentSetting[T]) Get(ctx context.Context, db settingsStore, contentID int64) (T, error) {
	_, _, v, err := cs.read(ctx, db, contentID)
	return v, err
}

// Update changes the value of content contentID with change and stores
// it by compare-and-set, again from the start when another change (of
// any key, on any node) came first.
func (cs ContentSetting[T]) Update(ctx context.Context, db settingsStore, contentID int64, change func(*T) error) (T, error) {
	for range 20 {
		raw, doc, v, err := cs.read(ctx, db, contentID)
		if err != nil {
			return v, err
		}
		if err := change(&v); err != nil {
			return v, err
		}
		if doc[cs.Key], err = json.Marshal(v); err != nil {
			return v, fmt.Errorf("%s settings: %w", cs.Key, err)
		}
		next, err := json.Marshal(doc)
		if err != nil {
			return v, fmt.Errorf("%s settings: %w", cs.Key, err)
		}
		ok, err := db.ContentSettingsSwap(ctx, contentID, raw, next)
		if err != nil {
			return v, fmt.Errorf("%s settings: %w", cs.Key, err)
		}
		if ok {
			return v, nil
		}
	}
	var zero T
	return zero, podium.Errorf(podium.ECONFLICT, "%s settings of content %d: changed by others too often meanwhile: try again", cs.Key, contentID)
}
