//! An entity declared with `details = true` (the API-token columns in the model itself), on every
//! SQL backend: a store on it keeps the details without `with_details`, SeaORM's own queries see
//! them, a row SeaORM inserts reads back through the strategy, and the joined read carries them.

use std::time::Duration;

use authtoken::{AccessToken, AccessTokenStore, DatabaseStrategy, IssueOptions, TokenColumns};
use authtoken_sea_orm::{AccessTokenEntity, SeaOrmStore};
use authtoken_tests::Backend;
use authtoken_tests::sql::i64_users::{I64Users, user};
use authtoken_tests::sql::{Engine, SqlBackend};
use chrono::TimeDelta;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

/// The token table with its API-token columns, related to the test schema's users.
mod api_token {
    authtoken_sea_orm::access_token_entity! {
        table_name = "access_token",
        user_id = i64,
        user = authtoken_tests::sql::i64_users::user,
        details = true,
    }
}

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn details_entity(engine: Engine) {
    let Some(b) = SqlBackend::<I64Users>::setup_with_details(engine).await else { return };
    let conn = b.db.conn.clone();
    let store = SeaOrmStore::<api_token::Entity>::new(conn.clone());
    assert_eq!(store.columns(), TokenColumns::DETAILS, "the entity's columns were not used");
    store.check_table().await.expect("the table matches the entity");
    let strategy = DatabaseStrategy::new(store, HOUR).unwrap();
    let alice = b.create_user(true).await;

    // Issued through the strategy: SeaORM's own query sees every column.
    let options = IssueOptions::new()
        .name("CI deploy")
        .scopes(["deploy", "read"])
        .lifetime(Duration::from_secs(90 * 86400));
    let token = strategy.issue_token(&alice, &options).await.unwrap().into_secret();
    let model = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(alice.id))
        .one(&conn)
        .await
        .unwrap()
        .expect("SeaORM finds the row");
    assert_eq!(model.name.as_deref(), Some("CI deploy"));
    assert_eq!(model.scopes.as_deref(), Some("deploy read"));
    let expires_at = model.expires_at.expect("its own expiry");
    assert_eq!(expires_at, model.created_at + TimeDelta::days(90));
    assert!(format!("{model:?}").contains("CI deploy"), "Debug shows the details");
    assert!(!format!("{model:?}").contains(&model.token), "Debug shows the key");

    // The joined read carries the details beside the user.
    let (found, row) = strategy
        .read_token::<user::Model, _>(&token, &authtoken::Joined)
        .await
        .unwrap()
        .expect("the joined read");
    assert_eq!(found.id, alice.id);
    assert_eq!(row.details.scopes, ["deploy", "read"]);
    assert_eq!(row.details.expires_at, Some(expires_at));

    // Inserted through SeaORM's ActiveModel: the strategy reads the details back.
    let plaintext = authtoken_conformance::spec::foreign_token();
    let mut planted = AccessToken::new(
        authtoken_conformance::spec::sha256_base64url(&plaintext),
        alice.id,
        strategy.now(),
    );
    planted.details.name = Some("inserted by the app".into());
    planted.details.scopes = vec!["read".into()];
    planted.details.expires_at = Some(strategy.now() + TimeDelta::days(30));
    api_token::Entity::active_model(planted).insert(&conn).await.expect("SeaORM's insert");
    let read = strategy.read_token_row(&plaintext).await.unwrap().expect("the app's row");
    assert_eq!(read.details.name.as_deref(), Some("inserted by the app"));
    assert_eq!(read.details.scopes, ["read"]);
    assert!(strategy.is_live(&read));
    b.cleanup().await;
}

/// Detail times SeaORM's `ActiveModel` wrote (on SQLite in RFC 3339, unlike the store's own
/// form) are compared as times: purge finds a row that expired earlier the same day, the
/// last-use throttle writes past its interval and not within it, and a use never revives an
/// expired row.
async fn details_written_by_seaorm_compare_as_times(engine: Engine) {
    use authtoken::{PurgeExpired, TokenUse};
    let Some(b) = SqlBackend::<I64Users>::setup_with_details(engine).await else { return };
    let conn = b.db.conn.clone();
    let store = SeaOrmStore::<api_token::Entity>::new(conn.clone());
    let alice = b.create_user(true).await;
    let noon: chrono::DateTime<chrono::Utc> = "2026-06-01T12:00:00Z".parse().unwrap();
    let row = |key: &str, expires: Option<TimeDelta>, used: Option<TimeDelta>| {
        let mut row = AccessToken::new(key.to_owned(), alice.id, noon - TimeDelta::hours(2));
        row.details.expires_at = expires.map(|d| noon + d);
        row.details.last_used_at = used.map(|d| noon + d);
        api_token::Entity::active_model(row)
    };
    row("expired-this-morning", Some(-TimeDelta::hours(1)), None).insert(&conn).await.unwrap();
    row("used-long-ago", Some(TimeDelta::hours(5)), Some(-TimeDelta::hours(1)))
        .insert(&conn)
        .await
        .unwrap();
    row("used-just-now", Some(TimeDelta::hours(5)), Some(-TimeDelta::minutes(1)))
        .insert(&conn)
        .await
        .unwrap();
    let get = |key: &'static str| {
        let store = store.clone();
        async move { store.get(key).await.unwrap().expect(key).details }
    };

    let use_at_noon = |extend: Option<TimeDelta>| TokenUse {
        at: noon,
        unless_since: noon - TimeDelta::minutes(5),
        extend_to: extend.map(|d| noon + d),
    };
    store
        .record_use("expired-this-morning", &use_at_noon(Some(TimeDelta::hours(1))))
        .await
        .unwrap();
    assert_eq!(
        get("expired-this-morning").await.expires_at,
        Some(noon - TimeDelta::hours(1)),
        "revived"
    );
    store.record_use("used-long-ago", &use_at_noon(None)).await.unwrap();
    assert_eq!(get("used-long-ago").await.last_used_at, Some(noon), "the throttle never wrote");
    store.record_use("used-just-now", &use_at_noon(None)).await.unwrap();
    assert_eq!(
        get("used-just-now").await.last_used_at,
        Some(noon - TimeDelta::minutes(1)),
        "wrote within the interval"
    );

    let later = noon + TimeDelta::minutes(1);
    assert_eq!(store.count_expired(later, later - TimeDelta::hours(10)).await.unwrap(), 1);
    let batch = std::num::NonZeroU32::new(10).unwrap();
    assert_eq!(store.delete_expired(later, later - TimeDelta::hours(10), batch).await.unwrap(), 1);
    assert!(store.get("expired-this-morning").await.unwrap().is_none(), "purge missed it");
    b.cleanup().await;
}

#[tokio::test]
async fn seaorm_written_details_on_sqlite() {
    details_written_by_seaorm_compare_as_times(Engine::Sqlite).await;
}

#[tokio::test]
async fn seaorm_written_details_on_postgres() {
    details_written_by_seaorm_compare_as_times(Engine::Postgres).await;
}

#[tokio::test]
async fn seaorm_written_details_on_mysql() {
    details_written_by_seaorm_compare_as_times(Engine::MySql).await;
}

#[tokio::test]
async fn details_entity_on_sqlite() {
    details_entity(Engine::Sqlite).await;
}

#[tokio::test]
async fn details_entity_on_postgres() {
    details_entity(Engine::Postgres).await;
}

#[tokio::test]
async fn details_entity_on_mysql() {
    details_entity(Engine::MySql).await;
}
