package podium

// RetentionHoldKey is the settings row that holds back [Applications]
// HistoryRetention on an installation upgraded from a release that did
// not have it (schema before 00050): its value is the time of that
// upgrade (RFC 3339, UTC). While it exists and the administrator has not
// set HistoryRetention, no history is deleted; once they have, the row is
// removed and the retention applies (docs/upgrading.md).
const RetentionHoldKey = "history.retention.hold"
