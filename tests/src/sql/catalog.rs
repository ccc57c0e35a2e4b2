//! The token table as each database's own catalog describes it: what both ORMs' migrations must
//! make.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::Engine;

/// Every row of `sql`, each column as text (integers written out; `NULL` as empty).
pub async fn strings(conn: &DatabaseConnection, sql: &str) -> Vec<Vec<String>> {
    let backend = conn.get_database_backend();
    let rows = conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter()
        .map(|row| {
            (0..row.column_names().len())
                .map(|i| {
                    row.try_get_by_index::<Option<String>>(i)
                        .or_else(|_| {
                            row.try_get_by_index::<Option<i64>>(i).map(|n| n.map(|n| n.to_string()))
                        })
                        .unwrap_or_else(|e| panic!("column {i} of {sql}: {e}"))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

/// The tables of the test's database, by name, without the engine's own.
pub async fn tables(conn: &DatabaseConnection, engine: Engine) -> Vec<String> {
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Engine::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name"
        }
        Engine::MySql => {
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
        }
    };
    strings(conn, sql).await.into_iter().map(|mut row| row.remove(0)).collect()
}

/// Rows of text, as [`strings`] returns them.
pub fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|row| row.iter().map(|s| s.to_string()).collect()).collect()
}

/// `access_token` is exactly the documented table: its columns (`user_id` of the catalog's type
/// `user_id`), the two indexes beside the primary key, and the cascading foreign key to
/// `user_table(id)`.
pub async fn assert_token_table(
    conn: &DatabaseConnection,
    engine: Engine,
    user_table: &str,
    user_id: &str,
) {
    match engine {
        Engine::Postgres => {
            let columns = strings(conn, "SELECT column_name::text, data_type::text, \
                COALESCE(character_maximum_length::text, ''), is_nullable::text \
                FROM information_schema.columns WHERE table_name = 'access_token' ORDER BY ordinal_position").await;
            assert_eq!(
                columns,
                table(&[
                    &["token", "character varying", "43", "NO"],
                    &["user_id", user_id, "", "NO"],
                    &["created_at", "timestamp with time zone", "", "NO"],
                ])
            );
            let indexes = strings(
                conn,
                "SELECT indexdef FROM pg_indexes \
                WHERE tablename = 'access_token' ORDER BY indexname",
            )
            .await;
            assert_eq!(
                indexes,
                table(&[
                    &[
                        "CREATE UNIQUE INDEX access_token_pkey ON public.access_token USING btree (token)"
                    ],
                    &[
                        "CREATE INDEX idx_access_token_created_at ON public.access_token USING btree (created_at)"
                    ],
                    &[
                        "CREATE INDEX idx_access_token_user_id ON public.access_token USING btree (user_id)"
                    ],
                ])
            );
            let keys = strings(
                conn,
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                WHERE conrelid = 'access_token'::regclass AND contype = 'f'",
            )
            .await;
            assert_eq!(
                keys,
                table(&[&[&format!(
                    "FOREIGN KEY (user_id) REFERENCES {user_table}(id) ON DELETE CASCADE"
                )]])
            );
        }
        Engine::MySql => {
            let columns = strings(conn, "SELECT COLUMN_NAME, COLUMN_TYPE, COALESCE(COLLATION_NAME, ''), IS_NULLABLE, COLUMN_KEY \
                FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_token' \
                ORDER BY ORDINAL_POSITION").await;
            assert_eq!(
                columns,
                table(&[
                    &["token", "varchar(43)", "ascii_bin", "NO", "PRI"],
                    &["user_id", user_id, "", "NO", "MUL"],
                    &["created_at", "datetime(6)", "", "NO", "MUL"],
                ])
            );
            let indexes = strings(conn, "SELECT INDEX_NAME, COLUMN_NAME, CAST(NON_UNIQUE AS CHAR) FROM information_schema.STATISTICS \
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_token' ORDER BY INDEX_NAME").await;
            assert_eq!(
                indexes,
                table(&[
                    &["idx_access_token_created_at", "created_at", "1"],
                    &["idx_access_token_user_id", "user_id", "1"],
                    &["PRIMARY", "token", "0"],
                ])
            );
            let keys = strings(conn, "SELECT k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE \
                FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
                WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = 'access_token'").await;
            assert_eq!(keys, table(&[&["user_id", user_table, "id", "CASCADE"]]));
        }
        Engine::Sqlite => {
            let columns = strings(conn, "SELECT name, type, \"notnull\", pk FROM pragma_table_info('access_token') ORDER BY cid").await;
            assert_eq!(
                columns,
                table(&[
                    &["token", "varchar(43)", "1", "1"],
                    &["user_id", user_id, "1", "0"],
                    &["created_at", "timestamp_with_timezone_text", "1", "0"],
                ])
            );
            let indexes = strings(
                conn,
                "SELECT il.name, ii.name FROM pragma_index_list('access_token') il \
                JOIN pragma_index_info(il.name) ii WHERE il.origin = 'c' ORDER BY il.name",
            )
            .await;
            assert_eq!(
                indexes,
                table(&[
                    &["idx_access_token_created_at", "created_at"],
                    &["idx_access_token_user_id", "user_id"],
                ])
            );
            let keys = strings(conn, "SELECT \"from\", \"table\", \"to\", on_delete FROM pragma_foreign_key_list('access_token')").await;
            assert_eq!(keys, table(&[&["user_id", user_table, "id", "CASCADE"]]));
        }
    }
}

/// `access_token`'s columns (name, type, nullable) and indexes (name, column) as the catalog
/// lists them: what two migrations that make the same table must agree on.
pub async fn token_table_shape(conn: &DatabaseConnection, engine: Engine) -> Vec<Vec<String>> {
    let (columns, indexes) = match engine {
        Engine::Postgres => (
            "SELECT column_name::text, data_type::text, \
             COALESCE(character_maximum_length::text, ''), is_nullable::text \
             FROM information_schema.columns WHERE table_name = 'access_token' \
             ORDER BY ordinal_position",
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'access_token' ORDER BY indexname",
        ),
        Engine::MySql => (
            "SELECT COLUMN_NAME, COLUMN_TYPE, COALESCE(COLLATION_NAME, ''), IS_NULLABLE \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'access_token' ORDER BY ORDINAL_POSITION",
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_token' ORDER BY INDEX_NAME",
        ),
        Engine::Sqlite => (
            "SELECT name, type, \"notnull\" FROM pragma_table_info('access_token') ORDER BY cid",
            "SELECT il.name, ii.name FROM pragma_index_list('access_token') il \
             JOIN pragma_index_info(il.name) ii WHERE il.origin = 'c' ORDER BY il.name",
        ),
    };
    let mut shape = strings(conn, columns).await;
    shape.extend(strings(conn, indexes).await);
    shape
}
