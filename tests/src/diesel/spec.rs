//! Specs of the Diesel store beyond the conformance kit: the cascade, the joined read, the
//! migration read back from each database's catalog, and one table shared with the SeaORM store.

use std::time::Duration;

use crate::sql::{Engine, catalog};
use authtoken::{
    AccessTokenStore, DatabaseStrategy, IssueOptions, ListTokens, ManualClock, TokenColumns, User,
};
use authtoken_conformance::Backend;
use authtoken_diesel::DieselStore;
use authtoken_diesel::{IdOn, LoadUser};
use authtoken_migration::{AddClientColumns, AddTokenDetails};
use authtoken_sea_orm::SeaOrmStore;
use authtoken_sea_orm::access_token;
use chrono::{TimeDelta, Utc};
use sea_orm::ConnectionTrait;
use sea_orm_migration::{MigrationTrait, SchemaManager};

use super::{DieselBackend, EngineOf, Ids, migration_for};

const LIFETIME: Duration = Duration::from_secs(3600);

/// Every Diesel-only spec as a `#[test]`, for id type `$ids` over connection `$conn`.
#[macro_export]
macro_rules! diesel_suite {
    ($ids:ty, $conn:ty) => {
        $crate::diesel_specs!($ids, $conn;
            deleting_a_user_deletes_its_tokens,
            joined_read_returns_the_user,
            migration_makes_the_documented_table_and_goes_down_and_up,
            a_token_written_by_either_orm_is_read_and_revoked_by_the_other,
            check_table_names_a_missing_table,
        );
    };
}

/// The Diesel-only specs of a token table with the API-token columns, over connection `$conn`.
#[macro_export]
macro_rules! diesel_details_suite {
    ($conn:ty) => {
        $crate::diesel_specs!($crate::diesel::DetailsIds, $conn;
            deleting_a_user_deletes_its_tokens,
            joined_read_returns_the_user,
            joined_read_honours_a_tokens_own_expiry,
            details_migration_matches_sea_orms_and_goes_down_and_up,
            embedded_migrations_make_the_same_table,
            details_columns_are_found_at_run_time,
            client_columns_migration_matches_sea_orms_and_shows_the_client,
        );
    };
}

/// One `#[test]` per named spec.
#[doc(hidden)]
#[macro_export]
macro_rules! diesel_specs {
    ($ids:ty, $conn:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                authtoken_conformance::run(async {
                    let Some(backend) = $crate::diesel::DieselBackend::<$ids, $conn>::setup().await else {
                        return;
                    };
                    $crate::diesel::spec::$name(&backend).await;
                    authtoken_conformance::Backend::cleanup(backend).await;
                });
            }
        )*
    };
}

/// The foreign key cascades: deleting a user deletes its tokens, and only its tokens.
pub async fn deleting_a_user_deletes_its_tokens<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let alices =
        [strategy.write_token(&alice).await.unwrap(), strategy.write_token(&alice).await.unwrap()];
    let bobs = strategy.write_token(&bob).await.unwrap();
    assert_eq!(b.store().list_of_user(alice.id()).await.unwrap().len(), 2);
    b.delete_user(&alice).await;
    assert!(b.store().list_of_user(alice.id()).await.unwrap().is_empty(), "no cascade");
    for token in &alices {
        assert!(strategy.read_token_row(token.expose_secret()).await.unwrap().is_none());
    }
    let read =
        strategy.read_token(bobs.expose_secret(), b.users()).await.unwrap().map(|(user, _)| user);
    assert_eq!(read.as_ref().map(User::id), Some(bob.id()));
}

/// `read_token(token, &Joined)` joins the token with its user: the user's own columns come back;
/// unknown, expired and orphaned tokens are refused.
pub async fn joined_read_returns_the_user<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
    I::Table: authtoken_diesel::JoinUsers<I::User, C>,
{
    let clock = ManualClock::new(Utc::now());
    let strategy =
        DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap().with_clock(clock.clone());
    let user = b.create_user(false).await;
    let token = strategy.write_token(&user).await.unwrap();
    let token = token.expose_secret();
    let found: Option<I::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    let found = found.expect("the token's user");
    assert_eq!(found.id(), user.id());
    assert!(!I::is_active(&found), "the user's own columns come back");

    let other = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let stranger = other.write_token(&b.create_user(true).await).await.unwrap();
    let found: Option<I::User> = strategy
        .read_token(stranger.expose_secret(), &authtoken::Joined)
        .await
        .unwrap()
        .map(|(user, _)| user);
    assert_ne!(found.map(|u| u.id().clone()), Some(user.id().clone()));

    let unknown = authtoken::PlaintextToken::generate().unwrap();
    let none: Option<I::User> = strategy
        .read_token(unknown.expose_secret(), &authtoken::Joined)
        .await
        .unwrap()
        .map(|(user, _)| user);
    assert!(none.is_none());
    let none: Option<I::User> =
        strategy.read_token("nope", &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(none.is_none());

    clock.advance(TimeDelta::from_std(LIFETIME).unwrap() + TimeDelta::seconds(1));
    let expired: Option<I::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(expired.is_none(), "an expired token is refused");
}

/// The shipped migration makes the table the SeaORM migration makes, read from the database's
/// catalog; `down.sql` drops it and nothing else; `up.sql` works again after it.
pub async fn migration_makes_the_documented_table_and_goes_down_and_up<I, C>(
    b: &DieselBackend<I, C>,
) where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    the_table_is_documented(b).await;
    b.db.conn.execute_unprepared(C::DOWN).await.expect("down.sql");
    assert_eq!(tables(b).await, ["users"], "down drops the token table and nothing else");
    let up = migration_for(C::UP, I::sql_type(C::ENGINE));
    b.db.conn.execute_unprepared(&up).await.expect("up.sql again");
    the_table_is_documented(b).await;
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let token = strategy.write_token(&user).await.unwrap();
    let read =
        strategy.read_token(token.expose_secret(), b.users()).await.unwrap().map(|(user, _)| user);
    assert_eq!(read.as_ref().map(User::id), Some(user.id()));
}

async fn the_table_is_documented<I: Ids, C: EngineOf>(b: &DieselBackend<I, C>) {
    assert_eq!(tables(b).await, ["access_token", "users"]);
    // The catalog's spelling of the migration's type.
    let user_id = match I::sql_type(C::ENGINE) {
        "UUID" => "uuid",
        "BINARY(16)" => "binary(16)",
        "BIGINT" if C::ENGINE == Engine::MySql => "bigint(20)",
        "BIGINT" => "bigint",
        other => other,
    };
    catalog::assert_token_table(&b.db.conn, C::ENGINE, "users", user_id).await;
}

/// One table, two ORMs: a token issued through either store authenticates through the other,
/// and a logout through either revokes it for both.
pub async fn a_token_written_by_either_orm_is_read_and_revoked_by_the_other<I, C>(
    b: &DieselBackend<I, C>,
) where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    let sea_orm = SeaOrmStore::<access_token::Entity<I::Id>>::new(b.db.conn.clone());
    let through_sea_orm = DatabaseStrategy::new(sea_orm, Some(LIFETIME)).unwrap();
    let through_diesel = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;

    let from_sea_orm = through_sea_orm.write_token(&user).await.unwrap();
    let from_diesel = through_diesel.write_token(&user).await.unwrap();
    for token in [&from_sea_orm, &from_diesel] {
        let secret = token.expose_secret();
        let by_diesel =
            through_diesel.read_token(secret, b.users()).await.unwrap().map(|(user, _)| user);
        assert_eq!(by_diesel.as_ref().map(User::id), Some(user.id()), "Diesel reads it");
        let by_sea_orm = through_sea_orm.read_token_row(secret).await.unwrap();
        assert_eq!(by_sea_orm.map(|row| row.user_id), Some(user.id().clone()), "SeaORM reads it");
    }
    // The same row, as each store reads it.
    let rows = b.store().list_of_user(user.id()).await.unwrap();
    let sea_orm = SeaOrmStore::<access_token::Entity<I::Id>>::new(b.db.conn.clone());
    let sea_rows = ListTokens::list_of_user(&sea_orm, user.id()).await.unwrap();
    assert_eq!(rows, sea_rows);

    through_diesel.destroy_token(from_sea_orm.expose_secret(), &user).await.unwrap();
    through_sea_orm.destroy_token(from_diesel.expose_secret(), &user).await.unwrap();
    for token in [&from_sea_orm, &from_diesel] {
        let secret = token.expose_secret();
        assert!(through_diesel.read_token_row(secret).await.unwrap().is_none());
        assert!(through_sea_orm.read_token_row(secret).await.unwrap().is_none());
    }
    assert!(b.store().get("x").await.unwrap().is_none());
}

/// `check_table` passes on the migrated table and names a missing one.
pub async fn check_table_names_a_missing_table<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    b.store.check_table().await.expect("the migrated table");
    let missing = b.store.clone().with_table("no_such_table").check_table().await.unwrap_err();
    assert!(missing.to_string().contains("no_such_table"), "{missing}");
}

async fn tables<I: Ids, C: EngineOf>(b: &DieselBackend<I, C>) -> Vec<String> {
    catalog::tables(&b.db.conn, C::ENGINE).await
}

/// A token's own lifetime holds in the joined read too: its user comes back until the row's
/// `expires_at`, then nothing, although the strategy's lifetime is longer.
pub async fn joined_read_honours_a_tokens_own_expiry<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
    I::Table: authtoken_diesel::JoinUsers<I::User, C>,
{
    let clock = ManualClock::new(Utc::now());
    let strategy =
        DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap().with_clock(clock.clone());
    let user = b.create_user(true).await;
    let options = IssueOptions::new().lifetime(Duration::from_secs(60)).name("ci").scopes(["read"]);
    let token = strategy.issue_token(&user, &options).await.unwrap();
    let token = token.expose_secret();
    let found: Option<I::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert_eq!(found.as_ref().map(User::id), Some(user.id()));
    let row = strategy.read_token_row(token).await.unwrap().expect("the named token");
    assert_eq!(
        (row.details.name.as_deref(), &row.details.scopes[..]),
        (Some("ci"), &["read".to_owned()][..])
    );

    clock.advance(TimeDelta::seconds(61));
    let expired: Option<I::User> =
        strategy.read_token(token, &authtoken::Joined).await.unwrap().map(|(user, _)| user);
    assert!(expired.is_none(), "a token past its own expiry is refused by the joined read");
}

/// The shipped details migration adds the columns and the index SeaORM's `AddTokenDetails`
/// adds, read from the catalog; its `down.sql` leaves the documented table; `up.sql` works again
/// and a named token round-trips.
pub async fn details_migration_matches_sea_orms_and_goes_down_and_up<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    let conn = &b.db.conn;
    let with_details = catalog::token_table_shape(conn, C::ENGINE).await;
    for column in ["expires_at", "name", "scopes", "last_used_at", "idx_access_token_expires_at"] {
        let found = with_details.iter().flatten().any(|text| text.contains(column));
        assert!(found, "{column} is missing: {with_details:?}");
    }
    conn.execute_unprepared(C::DETAILS_DOWN).await.expect("the details down.sql");
    the_table_is_documented(b).await;

    let manager = SchemaManager::new(conn);
    let sea_orm = AddTokenDetails::new("access_token");
    sea_orm.up(&manager).await.expect("SeaORM's AddTokenDetails");
    let by_sea_orm = catalog::token_table_shape(conn, C::ENGINE).await;
    assert_eq!(by_sea_orm, with_details, "the two ORMs' migrations add different columns");
    sea_orm.down(&manager).await.expect("SeaORM's AddTokenDetails down");

    conn.execute_unprepared(C::DETAILS_UP).await.expect("the details up.sql again");
    assert_eq!(catalog::token_table_shape(conn, C::ENGINE).await, with_details);
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let options = IssueOptions::new().name("deploy");
    let token = strategy.issue_token(&user, &options).await.unwrap();
    let row = strategy.read_token_row(token.expose_secret()).await.unwrap();
    assert_eq!(row.and_then(|row| row.details.name).as_deref(), Some("deploy"));
}

/// The shipped client migration adds the columns SeaORM's `AddClientColumns` adds; a store
/// finds them (`detect_details`) and a session then shows its client; `down.sql` removes them.
pub async fn client_columns_migration_matches_sea_orms_and_shows_the_client<I, C>(
    b: &DieselBackend<I, C>,
) where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    let conn = &b.db.conn;
    let before = catalog::token_table_shape(conn, C::ENGINE).await;
    assert!(!b.store().columns().client);
    conn.execute_unprepared(C::CLIENT_UP).await.expect("the client up.sql");
    let with_client = catalog::token_table_shape(conn, C::ENGINE).await;
    for column in ["user_agent", "address"] {
        let found = with_client.iter().flatten().any(|text| text.contains(column));
        assert!(found, "{column} is missing: {with_client:?}");
    }
    let store = b.store().detect_details().await.unwrap();
    assert_eq!(store.columns(), TokenColumns::ALL);
    let strategy = DatabaseStrategy::new(store, Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let client = authtoken::ClientInfo::new()
        .user_agent("curl/8.5\u{0}")
        .address("198.51.100.7".parse().unwrap());
    let token = strategy.issue_token(&user, &IssueOptions::new().client(client)).await.unwrap();
    let sessions = strategy.list_sessions(&user, Some(token.expose_secret())).await.unwrap();
    assert_eq!(sessions[0].user_agent.as_deref(), Some("curl/8.5"));
    assert_eq!(sessions[0].address.as_deref(), Some("198.51.100.7"));
    assert!(strategy.end_session(&user, sessions[0].id.as_str()).await.unwrap());

    conn.execute_unprepared(C::CLIENT_DOWN).await.expect("the client down.sql");
    assert_eq!(catalog::token_table_shape(conn, C::ENGINE).await, before);
    let manager = SchemaManager::new(conn);
    AddClientColumns::new("access_token").up(&manager).await.expect("SeaORM's AddClientColumns");
    let by_sea_orm = catalog::token_table_shape(conn, C::ENGINE).await;
    assert_eq!(by_sea_orm, with_client, "the two ORMs' migrations add different columns");
    AddClientColumns::new("access_token").down(&manager).await.expect("AddClientColumns down");
    assert_eq!(catalog::token_table_shape(conn, C::ENGINE).await, before);
}

/// `authtoken_diesel::migrations` run by Diesel's own harness make the table the SQL files
/// make: the token table's set, then the details set.
pub async fn embedded_migrations_make_the_same_table<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids,
    C: EngineOf + IdOn<I::Sql>,
    I::User: LoadUser<C>,
{
    let conn = &b.db.conn;
    let from_the_files = catalog::token_table_shape(conn, C::ENGINE).await;
    conn.execute_unprepared(C::DETAILS_DOWN).await.expect("the details down.sql");
    conn.execute_unprepared(C::DOWN).await.expect("down.sql");
    let url = b.db.url.clone();
    let applied =
        tokio::task::spawn_blocking(move || C::run_embedded_migrations(&url)).await.unwrap();
    assert_eq!(applied, ["20260101000100", "20260101000300"]);
    assert_eq!(catalog::token_table_shape(conn, C::ENGINE).await, from_the_files);
}

/// A store whose table type lacks the API-token columns finds them at run time
/// (`detect_details`, as the CLI does): named tokens work, and the joined read, whose
/// `table!` lacks them, refuses to run rather than ignore a token's own expiry.
pub async fn details_columns_are_found_at_run_time<I, C>(b: &DieselBackend<I, C>)
where
    I: Ids<Id = uuid::Uuid>,
    C: EngineOf + IdOn<I::Sql> + IdOn<authtoken_diesel::sql_types::Uuid>,
    I::User: LoadUser<C>,
    super::uuid_schema::access_token::table: authtoken_diesel::JoinUsers<super::UuidUser, C>,
{
    // A row in the table: the probe must not have to read one as a token row.
    let strategy = DatabaseStrategy::new(b.store(), Some(LIFETIME)).unwrap();
    strategy.write_token(&b.create_user(true).await).await.unwrap();
    let pool = b.store.pool().clone();
    let plain = DieselStore::<super::uuid_schema::access_token::table, C>::new(pool);
    assert_eq!(plain.columns(), TokenColumns::NONE);
    let found = plain.clone().detect_details().await.unwrap();
    assert_eq!(found.columns(), TokenColumns::DETAILS);
    let missing = plain.clone().with_table("users").detect_details().await.unwrap();
    assert_eq!(missing.columns(), TokenColumns::NONE, "a table without the columns");

    let strategy = DatabaseStrategy::new(found, Some(LIFETIME)).unwrap();
    let user = b.create_user(true).await;
    let token = strategy.issue_token(&user, &IssueOptions::new().name("cli")).await.unwrap();
    let row = strategy.read_token_row(token.expose_secret()).await.unwrap();
    assert_eq!(row.and_then(|row| row.details.name).as_deref(), Some("cli"));
    let joined: authtoken::Result<Option<super::UuidUser>> = strategy
        .read_token(token.expose_secret(), &authtoken::Joined)
        .await
        .map(|found| found.map(|(user, _)| user));
    assert!(matches!(joined, Err(authtoken::Error::Config(_))), "{joined:?}");
}
