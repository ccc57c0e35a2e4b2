//! What only a SQL backend can show: the cascade, the migration and its catalog, the joined read,
//! exact timestamps and byte-exact token matching. Each function is one test; see [`sql_suite!`](crate::sql_suite).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authtoken::store::{AccessToken, AccessTokenStore, ListTokens};
use authtoken::{DatabaseStrategy, ManualClock, User};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, EntityTrait, QueryFilter, Statement};
use sea_orm_migration::{MigrationTrait, SchemaManager};

use super::{Engine, SqlBackend, UserSchema, catalog, token_migration};
use crate::Backend;
use crate::spec::{LIFETIME, foreign_token, sha256_base64url};

/// Instantiates every function of `sql::spec` as a `#[tokio::test]` on `$setup`.
#[macro_export]
macro_rules! sql_suite {
    ($setup:expr) => {
        $crate::sql_tests! { $setup;
            deleting_a_user_deletes_its_tokens,
            joined_read_returns_the_user_in_one_statement,
            migration_down_then_up_again_works,
            migration_creates_the_documented_table,
            timestamps_round_trip_to_the_microsecond,
            token_lookup_is_case_sensitive,
            entity_works_with_plain_sea_orm,
            rows_in_every_timestamp_form_expire_and_purge_exactly,
            store_runs_on_a_table_named_at_run_time,
            token_for_a_missing_user_is_refused_by_the_foreign_key,
            check_table_names_a_missing_table_and_a_wrong_id_type,
            store_runs_inside_a_callers_transaction,
            refresh_rows_rewritten_with_sql_mint_nothing,
        }
    };
}

/// The expansion behind [`sql_suite!`](crate::sql_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! sql_tests {
    ($setup:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(backend) = $setup.await else { return };
                $crate::sql::spec::$name(&backend).await;
                $crate::Backend::cleanup(backend).await;
            }
        )*
    };
}

fn noon() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

fn row<S: UserSchema>(user: &S::User, created_at: DateTime<Utc>) -> AccessToken<S::Id> {
    AccessToken::new(foreign_token(), user.id().clone(), created_at)
}

/// The foreign key cascades: deleting a user deletes its tokens, and only its tokens.
pub async fn deleting_a_user_deletes_its_tokens<S: UserSchema>(b: &SqlBackend<S>) {
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let alices =
        [strategy.write_token(&alice).await.unwrap(), strategy.write_token(&alice).await.unwrap()];
    let bobs = strategy.write_token(&bob).await.unwrap();
    b.delete_user(&alice).await;
    assert!(
        b.store().list_of_user(alice.id()).await.unwrap().is_empty(),
        "the cascade did not fire"
    );
    for token in &alices {
        assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_none());
    }
    assert_eq!(b.store().list_of_user(bob.id()).await.unwrap().len(), 1);
    assert!(strategy.read_token(bobs.expose_secret(), b.users()).await.unwrap().is_some());
}

/// `read_token(token, &Joined)` joins the token with its user: the same answers as `read_token`, in
/// one statement.
pub async fn joined_read_returns_the_user_in_one_statement<S: UserSchema>(b: &SqlBackend<S>) {
    // A pool of its own, so that its statement counter sees this test's statements alone.
    let statements = Arc::new(AtomicUsize::new(0));
    let mut conn = Database::connect(ConnectOptions::new(&b.db.url)).await.unwrap();
    let counter = Arc::clone(&statements);
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let clock = ManualClock::new(noon());
    let store = authtoken_sea_orm::SeaOrmStore::<S::TokenEntity>::new(conn);
    let strategy = DatabaseStrategy::new(store, Some(LIFETIME)).unwrap().with_clock(clock.clone());
    let user = b.create_user(false).await;
    let token = strategy.write_token(&user).await.unwrap();
    let token = token.expose_secret();

    let before = statements.load(Ordering::SeqCst);
    let found: Option<S::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert_eq!(statements.load(Ordering::SeqCst) - before, 1, "one statement per read");
    let found = found.expect("the token's user");
    assert_eq!(found.id(), user.id());
    assert!(!S::is_active(&found), "the user's own columns come back");

    let unknown: Option<S::User> = strategy
        .read_token(&foreign_token(), &authtoken::Joined)
        .await
        .unwrap()
        .map(|(user, _)| user);
    assert!(unknown.is_none());
    let before = statements.load(Ordering::SeqCst);
    let malformed: Option<S::User> =
        strategy.read_token("nope", &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(malformed.is_none());
    assert_eq!(statements.load(Ordering::SeqCst), before, "no statement for a malformed token");

    clock.advance(TimeDelta::from_std(LIFETIME).unwrap() + TimeDelta::seconds(1));
    let expired: Option<S::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(expired.is_none());
    clock.set(noon());
    b.delete_user(&user).await;
    let gone: Option<S::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(gone.is_none());
}

/// `down` drops what `up` made, and `up` works again after it.
pub async fn migration_down_then_up_again_works<S: UserSchema>(b: &SqlBackend<S>) {
    let manager = SchemaManager::new(&b.db.conn);
    let migration = token_migration::<S>();
    assert_eq!(tables(b).await, ["access_token", "app_user"]);
    migration.down(&manager).await.expect("down");
    assert_eq!(tables(b).await, ["app_user"], "down drops the token table and nothing else");
    migration.up(&manager).await.expect("up again");
    migration_creates_the_documented_table(b).await;
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let token = strategy.write_token(&user).await.unwrap();
    let read =
        strategy.read_token(token.expose_secret(), b.users()).await.unwrap().map(|(user, _)| user);
    assert_eq!(read.as_ref().map(User::id), Some(user.id()));
}

async fn tables(b: &SqlBackend<impl UserSchema>) -> Vec<String> {
    catalog::tables(&b.db.conn, b.db.engine).await
}

/// The table is exactly what DESIGN.md lists, read from the database's own catalog.
pub async fn migration_creates_the_documented_table<S: UserSchema>(b: &SqlBackend<S>) {
    use authtoken_migration::UserIdType;
    let user_id = match (b.db.engine, S::ID_TYPE) {
        (Engine::Postgres, UserIdType::Uuid) => "uuid",
        (Engine::Postgres, UserIdType::Int64) => "bigint",
        (Engine::Postgres, UserIdType::Int32) => "integer",
        (Engine::Postgres, UserIdType::String) => "character varying",
        (Engine::MySql, UserIdType::Uuid) => "binary(16)",
        (Engine::MySql, UserIdType::Int64) => "bigint(20)",
        (Engine::MySql, UserIdType::Int32) => "int(11)",
        (Engine::MySql, UserIdType::String) => "varchar(255)",
        (Engine::Sqlite, UserIdType::Uuid) => "uuid_text",
        // SQLite has one integer type; sea-query spells it so for both widths.
        (Engine::Sqlite, UserIdType::Int64 | UserIdType::Int32) => "INTEGER",
        (Engine::Sqlite, UserIdType::String) => "varchar",
    };
    catalog::assert_token_table(&b.db.conn, b.db.engine, "app_user", user_id).await;
    if b.db.engine == Engine::Sqlite {
        let enforced = catalog::strings(&b.db.conn, "PRAGMA foreign_keys").await;
        assert_eq!(enforced, catalog::table(&[&["1"]]), "SQLite must enforce foreign keys");
    }
}

/// Creation times come back exactly as written, to the microsecond, in UTC.
pub async fn timestamps_round_trip_to_the_microsecond<S: UserSchema>(b: &SqlBackend<S>) {
    let store = b.store();
    let user = b.create_user(true).await;
    let at = noon() + TimeDelta::microseconds(123_456);
    let written = row::<S>(&user, at);
    store.create(written.clone(), None).await.unwrap();
    assert_eq!(store.get(&written.token).await.unwrap(), Some(written.clone()));
    // A token issued on the system clock (nanoseconds) is live at once and at its boundary.
    let clock = ManualClock::new(Utc::now());
    let strategy = DatabaseStrategy::new(b.store(), Some(Duration::from_secs(60)))
        .unwrap()
        .with_clock(clock.clone());
    let token = strategy.write_token(&user).await.unwrap();
    assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_some());
    clock.advance(TimeDelta::seconds(60));
    assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_some());
    clock.advance(TimeDelta::milliseconds(1));
    assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_none());
}

/// The database itself matches tokens byte for byte (no case-insensitive collation).
pub async fn token_lookup_is_case_sensitive<S: UserSchema>(b: &SqlBackend<S>) {
    let store = b.store();
    let user = b.create_user(true).await;
    let mut written = row::<S>(&user, noon());
    written.token = sha256_base64url("case").replace(|c: char| c.is_ascii_digit(), "a");
    store.create(written.clone(), None).await.unwrap();
    let lower = written.token.to_ascii_lowercase();
    let upper = written.token.to_ascii_uppercase();
    assert_ne!(lower, written.token);
    assert_eq!(store.get(&lower).await.unwrap(), None);
    assert_eq!(store.get(&upper).await.unwrap(), None);
    assert!(!store.delete(&lower, user.id()).await.unwrap());
    // A second row that differs only in case is a different token, not a duplicate.
    let twin = AccessToken { token: upper, ..written.clone() };
    store.create(twin, None).await.unwrap();
    assert_eq!(store.list_of_user(user.id()).await.unwrap().len(), 2);
}

/// The macro's entity behaves like any SeaORM entity: insert, filter, join both ways, delete.
pub async fn entity_works_with_plain_sea_orm<S: UserSchema>(b: &SqlBackend<S>) {
    use authtoken_sea_orm::AccessTokenEntity;
    use sea_orm::ColumnTrait;
    let db = &b.db.conn;
    let user = b.create_user(true).await;
    let written = row::<S>(&user, noon());
    S::TokenEntity::insert(S::TokenEntity::active_model(written.clone()))
        .exec_without_returning(db)
        .await
        .unwrap();
    let mine = S::TokenEntity::find()
        .filter(S::TokenEntity::user_id_column().eq(user.id().clone()))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        mine.into_iter().map(S::TokenEntity::into_access_token).collect::<Vec<_>>(),
        vec![written.clone()]
    );
    let by_token = S::TokenEntity::token_column().eq(written.token.as_str());
    let (_, owner) = S::TokenEntity::find()
        .filter(by_token.clone())
        .find_also_related(S::UserEntity::default())
        .one(db)
        .await
        .unwrap()
        .expect("the row");
    assert_eq!(owner.as_ref().map(User::id), Some(user.id()));
    let users_with_tokens =
        S::UserEntity::find().find_with_related(S::TokenEntity::default()).all(db).await.unwrap();
    assert_eq!(users_with_tokens.len(), 1);
    assert_eq!(users_with_tokens[0].1.len(), 1);
    let deleted = S::TokenEntity::delete_many().filter(by_token).exec(db).await.unwrap();
    assert_eq!(deleted.rows_affected, 1);
    assert!(b.store().get(&written.token).await.unwrap().is_none());
}

/// Insert a row by hand, its creation time written as `created_at_sql` (an SQL literal).
async fn insert_raw<S: UserSchema>(
    b: &SqlBackend<S>,
    token: &str,
    user: &S::User,
    created_at_sql: &str,
) {
    let backend = b.db.conn.get_database_backend();
    let owner: sea_orm::Value = user.id().clone().into();
    let sql = format!(
        "INSERT INTO access_token (token, user_id, created_at) VALUES ({}, {}, {created_at_sql})",
        if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" },
        if backend == sea_orm::DbBackend::Postgres { "$2" } else { "?" },
    );
    let statement = Statement::from_sql_and_values(backend, sql, [token.into(), owner]);
    b.db.conn.execute_raw(statement).await.expect("a hand-written row");
}

/// Rows written by other programs (SQL literals; on SQLite both text forms, SQLAlchemy's and
/// RFC 3339) expire and purge at exactly the same instants as the store's own rows.
pub async fn rows_in_every_timestamp_form_expire_and_purge_exactly<S: UserSchema>(
    b: &SqlBackend<S>,
) {
    let user = b.create_user(true).await;
    // One second either side of the cutoff, 11:00:00 UTC, plus one exactly at it.
    let literals: Vec<(&str, &str)> = match b.db.engine {
        Engine::Sqlite => vec![
            ("'2026-01-01 10:59:59.999999'", "old"),
            ("'2026-01-01 11:00:00.000000'", "live"),
            ("'2026-01-01 11:00:01.000000'", "live"),
            ("'2026-01-01T10:59:59.999999+00:00'", "old"),
            ("'2026-01-01T11:00:00.000000+00:00'", "live"),
            ("'2026-01-01T11:00:00.5+00:00'", "live"),
        ],
        Engine::Postgres => vec![
            ("'2026-01-01 10:59:59.999999+00'", "old"),
            ("'2026-01-01 11:00:00+00'", "live"),
            ("'2026-01-01 16:45:00.000001+05:45'", "live"),
        ],
        Engine::MySql => vec![
            ("'2026-01-01 10:59:59.999999'", "old"),
            ("'2026-01-01 11:00:00.000000'", "live"),
            ("'2026-01-01 11:00:01.000000'", "live"),
        ],
    };
    let cutoff: DateTime<Utc> = "2026-01-01T11:00:00Z".parse().unwrap();
    let mut expected_live = Vec::new();
    for (literal, fate) in &literals {
        let token = foreign_token();
        insert_raw(b, &token, &user, literal).await;
        let read = b.store().get(&token).await.unwrap().expect("the row");
        let live = read.created_at >= cutoff;
        assert_eq!(
            live,
            *fate == "live",
            "{literal} read as {}",
            if live { "live" } else { "expired" }
        );
        if *fate == "live" {
            expected_live.push(token);
        }
    }
    let old = literals.iter().filter(|(_, fate)| *fate == "old").count() as u64;
    assert_eq!(b.db_store().count_created_before(cutoff).await.unwrap(), old);
    let purged = b
        .store()
        .delete_created_before(cutoff, std::num::NonZeroU32::new(100).unwrap())
        .await
        .unwrap();
    assert_eq!(purged, old);
    let mut left: Vec<String> =
        b.store().list_of_user(user.id()).await.unwrap().into_iter().map(|r| r.token).collect();
    left.sort();
    expected_live.sort();
    assert_eq!(left, expected_live);
}

/// `with_table` points a store at a table named at run time; the joined read refuses it.
pub async fn store_runs_on_a_table_named_at_run_time<S: UserSchema>(b: &SqlBackend<S>) {
    let manager = SchemaManager::new(&b.db.conn);
    let other = token_migration::<S>().with_token_table("tokens_elsewhere").with_name("m_other");
    other.up(&manager).await.expect("a second token table");
    let store = b.db_store().with_table("tokens_elsewhere");
    let strategy = DatabaseStrategy::new(store.clone(), Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let token = strategy.write_token(&user).await.unwrap();
    let read =
        strategy.read_token(token.expose_secret(), b.users()).await.unwrap().map(|(user, _)| user);
    assert_eq!(read.as_ref().map(User::id), Some(user.id()));
    assert!(
        b.store().list_of_user(user.id()).await.unwrap().is_empty(),
        "the default table is untouched"
    );
    assert_eq!(store.list_of_user(user.id()).await.unwrap().len(), 1);
    let joined = authtoken_sea_orm::SeaOrmStore::<S::TokenEntity>::new(b.db.conn.clone())
        .with_table("tokens_elsewhere");
    let strategy = DatabaseStrategy::new(joined, Some(LIFETIME)).unwrap();
    let refused: authtoken::Result<Option<(S::User, _)>> =
        strategy.read_token(token.expose_secret(), &authtoken::Joined).await;
    assert!(matches!(refused, Err(authtoken::Error::Config(_))), "{refused:?}");
    other.down(&manager).await.expect("dropping the second table");
}

/// A row for a user that does not exist is refused by the foreign key, as `UnknownUser`.
pub async fn token_for_a_missing_user_is_refused_by_the_foreign_key<S: UserSchema>(
    b: &SqlBackend<S>,
) {
    let user = b.create_user(true).await;
    b.delete_user(&user).await;
    let result = b.store().create(row::<S>(&user, noon()), None).await;
    assert!(matches!(result, Err(authtoken::Error::UnknownUser)), "{result:?}");
}

/// A misconfigured store (a table that is not there, a user id type that is not the column's) is
/// one clear `Schema` error that names the table and the problem.
pub async fn check_table_names_a_missing_table_and_a_wrong_id_type<S: UserSchema>(
    b: &SqlBackend<S>,
) {
    use authtoken_sea_orm::{SeaOrmStore, access_token};
    let message = |result: authtoken::Result<()>| match result {
        Err(authtoken::Error::Schema(message)) => message,
        other => panic!("expected a schema error, got {other:?}"),
    };
    b.db_store().check_table().await.expect("the real table checks out");
    let missing = b.db_store().with_table("no_such_tokens").check_table().await;
    assert!(message(missing).contains("cannot read table `no_such_tokens`"));

    let user = b.create_user(true).await;
    b.store().create(row::<S>(&user, noon()), None).await.unwrap();
    let wrong = match S::ID_TYPE {
        authtoken_migration::UserIdType::Uuid => {
            SeaOrmStore::<access_token::Entity<i64>>::new(b.db.conn.clone()).check_table().await
        }
        _ => SeaOrmStore::<access_token::Entity>::new(b.db.conn.clone()).check_table().await,
    };
    let wrong = message(wrong);
    assert!(wrong.contains("does not read as user_id"), "{wrong}");
}

/// Over a `DatabaseExecutor` made from the caller's transaction, the store's writes commit or roll
/// back with it.
pub async fn store_runs_inside_a_callers_transaction<S: UserSchema>(b: &SqlBackend<S>) {
    use authtoken_sea_orm::{SeaOrmStore, access_token};
    use sea_orm::{DatabaseExecutor, TransactionTrait};
    let user = b.create_user(true).await;
    for commit in [false, true] {
        let txn = b.db.conn.begin().await.unwrap();
        let store =
            SeaOrmStore::<access_token::Entity<S::Id>, _>::new(DatabaseExecutor::from(&txn));
        let strategy = DatabaseStrategy::new(store, Some(LIFETIME)).unwrap();
        let token = strategy.write_token(&user).await.unwrap();
        assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_some());
        drop(strategy);
        if commit {
            txn.commit().await.unwrap()
        } else {
            txn.rollback().await.unwrap()
        }
        let seen = b.store().list_of_user(user.id()).await.unwrap().len();
        assert_eq!(seen, usize::from(commit), "commit = {commit}");
    }
}

/// With a server key, a refresh token whose rows are rewritten with SQL from another connection
/// mints nothing: its family moved to another user (to become them), or the token moved into
/// another family; an untouched login still refreshes, as its own user.
pub async fn refresh_rows_rewritten_with_sql_mint_nothing<S: UserSchema>(b: &SqlBackend<S>)
where
    S::Id: Into<sea_orm::Value> + sea_orm::TryGetable,
{
    use authtoken::refresh::{RefreshPolicy, RefreshRefusal, RefreshStrategy, Refreshed};
    use authtoken_conformance::RefreshBackend;
    authtoken_migration::CreateRefreshTokenTables::new(super::USER_TABLE, "id", S::ID_TYPE)
        .up(&SchemaManager::new(&b.db.conn))
        .await
        .expect("the refresh-token tables");
    let keys = authtoken::HashKeys::new(&[8u8; 32]).unwrap();
    let access = DatabaseStrategy::new(b.store(), Some(Duration::from_secs(900))).unwrap();
    let tokens = RefreshStrategy::new(
        access.with_hash_keys(keys),
        b.refresh_store(),
        RefreshPolicy::default(),
    )
    .unwrap();
    let (victim, attacker) = (b.create_user(true).await, b.create_user(true).await);
    let other = Database::connect(b.db.url.as_str()).await.expect("a connection of its own");
    let p = |n: usize| match b.db.engine {
        Engine::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let spare = tokens.login(&attacker).await.unwrap();
    let rewrites = [
        (
            "moved to another user",
            format!("UPDATE refresh_token SET user_id = {} WHERE family = {}", p(1), p(2)),
            Some(victim.id().clone()),
        ),
        (
            "moved into another family",
            format!("UPDATE refresh_token SET family = {} WHERE family = {}", p(1), p(2)),
            None,
        ),
    ];
    for (what, sql, to_user) in rewrites {
        let login = tokens.login(&attacker).await.unwrap();
        let values: Vec<sea_orm::Value> = match to_user {
            Some(user) => vec![user.into(), login.family.clone().into()],
            None => vec![spare.family.clone().into(), login.family.clone().into()],
        };
        let statement =
            Statement::from_sql_and_values(b.db.conn.get_database_backend(), &sql, values);
        let changed = other.execute_raw(statement).await.expect(what).rows_affected();
        assert!(changed > 0, "{what}: the rewrite changed nothing");
        match tokens.refresh(login.refresh_token.expose_secret()).await.unwrap() {
            Refreshed::Refused(why) => assert_eq!(why, RefreshRefusal::Unknown, "{what}"),
            Refreshed::Rotated(pair) => panic!("{what}: rotated, family {}", pair.family),
        }
    }
    let honest = tokens.login(&attacker).await.unwrap();
    let Refreshed::Rotated(next) =
        tokens.refresh(honest.refresh_token.expose_secret()).await.unwrap()
    else {
        panic!("an untouched login was refused");
    };
    let found = tokens.access().read_token(next.access_token.expose_secret(), b.users()).await;
    assert_eq!(found.unwrap().map(|(user, _)| user.id().clone()), Some(attacker.id().clone()));
    other.close().await.ok();
}
