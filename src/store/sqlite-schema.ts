/**
 * The SQL of the SQLite backend (sqlite.ts explains the design). Kept apart so the store
 * logic reads as TypeScript and the schema can be read in one place.
 */

/**
 * `id` orders changes (several rows share a `rev` when a txn writes several keys);
 * AUTOINCREMENT so ids never repeat even after compaction deletes the newest row.
 * `prev_id` points at the key's previous live row, so prevKv needs no search.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  rev        INTEGER NOT NULL,
  key        TEXT    NOT NULL,
  value      TEXT,
  create_rev INTEGER NOT NULL,
  prev_id    INTEGER,
  lease      INTEGER
);
CREATE INDEX IF NOT EXISTS log_key_id ON log (key, id);
CREATE INDEX IF NOT EXISTS log_rev ON log (rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl_ms INTEGER NOT NULL);
`;

/** A store made before leases has no lease column: it gains one (every key unleased). */
export const ADD_LEASE_COLUMN = `ALTER TABLE log ADD COLUMN lease INTEGER`;

/** Matches keys under @prefix; the range test lets SQLite use the key index. */
const UNDER_PREFIX = `key >= @prefix AND substr(key, 1, length(@prefix)) = @prefix`;

export const SQL = {
  meta: `SELECT value FROM meta WHERE name = ?`,
  setMeta: `UPDATE meta SET value = ? WHERE name = ?`,
  latest: `SELECT * FROM log WHERE key = ? ORDER BY id DESC LIMIT 1`,
  insert: `INSERT INTO log (rev, key, value, create_rev, prev_id, lease) VALUES (?, ?, ?, ?, ?, ?)`,
  leases: `SELECT id, ttl_ms AS ttlMs FROM lease`,
  grant: `INSERT INTO lease (ttl_ms) VALUES (?)`,
  dropLease: `DELETE FROM lease WHERE id = ?`,
  /** Live keys bound to a lease (each key's latest row): the lessor's state after a reopen. */
  leasedKeys: `
    SELECT key, lease FROM log l WHERE lease IS NOT NULL AND value IS NOT NULL
      AND id = (SELECT MAX(id) FROM log x WHERE x.key = l.key)`,
  /** The latest row of each key under @prefix at or below @rev, if it is not a deletion. */
  listAt: `
    SELECT * FROM log WHERE id IN (
      SELECT MAX(id) FROM log WHERE ${UNDER_PREFIX} AND rev <= @rev GROUP BY key
    ) AND value IS NOT NULL ORDER BY key`,
  /**
   * One page: the same rows for keys in [@from, @end), at most @limit of them. Grouping
   * every key at or after @from first (as listAt does) costs as many rows as follow @from,
   * so a page read in a large range would grow with the range (an address pool: ADR 005).
   * Instead the recursive walk seeks one distinct key at a time on the key index and stops
   * at @limit live rows: measured 0.07 ms for 16 rows of 60,000 keys, against 34 ms.
   */
  pageAt: `
    WITH RECURSIVE k(key) AS (
      SELECT MIN(key) FROM log WHERE key >= @from AND key < @end
      UNION ALL
      SELECT (SELECT MIN(key) FROM log WHERE key > k.key AND key < @end) FROM k WHERE k.key IS NOT NULL
    )
    SELECT l.* FROM k JOIN log l ON l.id = (SELECT MAX(id) FROM log x WHERE x.key = k.key AND x.rev <= @rev)
    WHERE l.value IS NOT NULL LIMIT @limit`,
  /** Changes after @after in commit order, each with the row it replaced. */
  history: `
    SELECT l.rev, l.key, l.value, l.create_rev, l.lease,
           p.rev AS prev_rev, p.value AS prev_value, p.create_rev AS prev_create_rev, p.lease AS prev_lease
    FROM log l LEFT JOIN log p ON p.id = l.prev_id
    WHERE l.rev > @after AND l.key >= @prefix AND substr(l.key, 1, length(@prefix)) = @prefix
    ORDER BY l.rev, l.id`,
  /**
   * Drops every row at or below @rev except each key's latest row there when it is live:
   * exactly what list-at-revision and prevKv above @rev still need.
   */
  compact: `
    DELETE FROM log WHERE rev <= @rev AND (value IS NULL OR id < (
      SELECT MAX(id) FROM log AS newer WHERE newer.key = log.key AND newer.rev <= @rev))`,
};
