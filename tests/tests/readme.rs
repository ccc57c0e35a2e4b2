//! The README's Rust code, compiled: every ```rust block of README.md must appear, line for line,
//! in this file, whose functions the compiler type-checks (they are never run). A README edit
//! that no longer compiles, or a block missing here, fails `cargo test`.

#![allow(dead_code, unused_variables, clippy::all)]

use std::num::NonZeroU32;

use sea_orm::DatabaseConnection;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The README's `users` entity (i64 keys, a `username`), with its token entity.
mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub username: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl authtoken::User for Model {
        type Id = i64;
        fn id(&self) -> &i64 {
            &self.id
        }
    }

    impl authtoken_http::AuthUser for Model {
        fn is_active(&self) -> bool {
            true
        }
    }
}

#[rustfmt::skip]
mod token {
    authtoken_sea_orm::access_token_entity! { table_name = "access_token", user_id = i64, user = crate::users }
}

/// The README's fastapi-users `user` (UUID keys).
mod user {
    pub use authtoken_tests::sql::uuid_users::user::*;
}

/// The existing-schema section's `crate::entity::user`.
#[rustfmt::skip]
mod entity {
    pub mod user {
        pub use crate::users::*;
    }

    // README: the entity step.
    pub mod user_token {
        authtoken_sea_orm::access_token_entity! {
            table_name = "user_tokens",
            user_id = i64,
            user = crate::entity::user,
        }
    }
}

/// A credential check shaped like the axum example's: fallible to build, cheap to clone.
#[derive(Clone)]
struct Passwords(DatabaseConnection);

impl Passwords {
    fn new(db: DatabaseConnection) -> Result<Self> {
        Ok(Self(db))
    }
}

impl authtoken_http::Credentials<users::Model> for Passwords {
    async fn verify(
        &self,
        _: &str,
        _: &str,
    ) -> std::result::Result<Option<users::Model>, authtoken::BoxError> {
        Ok(None)
    }
}

// README: "Use".
#[rustfmt::skip]
async fn use_section(db: DatabaseConnection, user: user::Model, presented: &str) -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};

    let strategy = DatabaseStrategy::new(
        SeaOrmStore::<access_token::Entity>::new(db.clone()), // UUID user ids
        Some(Duration::from_secs(3600)),                        // None: tokens never expire
    )?;
    let users = SeaOrmUsers::<user::Entity>::new(db.clone());  // your entity; its Model implements authtoken::User

    let token = strategy.write_token(&user).await?;                        // login: send token.expose_secret() once
    let who = strategy.read_token(presented, &users).await?;          // every request: Some((user, row)) or None
    strategy.destroy_token(presented, &user).await?;                       // logout
    strategy.destroy_all_tokens(&user).await?;                             // log out everywhere
    strategy.purge_expired(NonZeroU32::new(1000).unwrap()).await?;         // delete expired rows, 1000 per statement
    Ok(())
}

// README: the existing-schema migration step.
#[rustfmt::skip]
fn migration_step() -> authtoken_migration::CreateAccessTokenTable {
    use authtoken_migration::{CreateAccessTokenTable, UserIdType};
    CreateAccessTokenTable::new("users", "id", UserIdType::Int64).with_token_table("user_tokens")
}

// README: "Protecting an axum route".
#[rustfmt::skip]
async fn axum_section(db: DatabaseConnection) -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken_axum::*;
    use authtoken_sea_orm::SeaOrmStore;
    use axum::{Router, routing::get};

    let store = SeaOrmStore::<token::Entity>::new(db.clone());                 // token entity related to your users
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;       // reads token + user in one query
    let auth = Authenticator::new(vec![AuthBackend::new("bearer", Bearer, strategy)])?;

    async fn me(CurrentUser(user, ..): CurrentUser<users::Model>) -> String {  // 401 unless logged in and active
        format!("hello {}", user.username)
    }
    let app = Router::new()
        .route("/me", get(me))
        .nest("/auth", auth_router(auth.clone(), "bearer", Passwords::new(db.clone())?)?) // POST /auth/login, /auth/logout, /auth/logout-all
        .with_state(auth);
    let _: Router = app;
    Ok(())
}

// Guide: "Scaling out: PostgreSQL replicas".
#[rustfmt::skip]
async fn pg_replicas_section(primary: DatabaseConnection, standby_1: DatabaseConnection, standby_2: DatabaseConnection) -> Result {
    use authtoken_sea_orm::{SeaOrmStore, access_token};

    let store = SeaOrmStore::<access_token::Entity>::new(primary).with_read_replicas(vec![standby_1, standby_2]).await?;
    let _ = store;
    Ok(())
}

// Guide: "Scaling out: PostgreSQL replicas", the Diesel store.
mod pg_replicas_diesel {
    mod schema {
        authtoken_diesel::access_token_table!(access_token, user_id = Uuid);
    }

    #[rustfmt::skip]
    async fn section(primary: &str, standby_1: &str, standby_2: &str) -> authtoken::Result<()> {
        use authtoken_diesel::{AsyncPgConnection, DieselStore, connect};

        let replicas = vec![connect::<AsyncPgConnection>(standby_1, 16).await?, connect::<AsyncPgConnection>(standby_2, 16).await?];
        let store = DieselStore::<schema::access_token::table, AsyncPgConnection>::new(connect::<AsyncPgConnection>(primary, 16).await?).with_read_replicas(replicas).await?;
        let _ = store;
        Ok(())
    }
}

// Guide: "Refresh tokens".
#[rustfmt::skip]
async fn refresh_section(db: DatabaseConnection) -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken::refresh::{RefreshPolicy, RefreshStrategy};
    use authtoken_axum::*;
    use authtoken_sea_orm::{SeaOrmRefreshStore, SeaOrmStore};
    use axum::Router;

    let access = || DatabaseStrategy::new(SeaOrmStore::<token::Entity>::new(db.clone()), Some(Duration::from_secs(900)));
    let refresh = RefreshStrategy::new(access()?, SeaOrmRefreshStore::<i64>::new(db.clone()), RefreshPolicy::default())?; // 14 days idle, 90 in all
    let browser = Cookie { refresh_path: Some("/auth/refresh".into()), ..Cookie::default() };   // the refresh cookie's Path
    let auth = Authenticator::new(vec![AuthBackend::new("web", browser, access()?).with_refresh(refresh)])?;
    let app: Router = Router::new()
        .nest("/auth", auth_router(auth.clone(), "web", Passwords::new(db.clone())?)?) // POST /auth/login, /auth/refresh, /auth/logout
        .with_state(auth);
    let _ = app;
    Ok(())
}

// README: "Protecting an actix-web route".
#[rustfmt::skip]
async fn actix_section(db: DatabaseConnection) -> Result {
    use std::time::Duration;
    use actix_web::{App, HttpServer, web};
    use authtoken::DatabaseStrategy;
    use authtoken_actix::*;
    use authtoken_sea_orm::SeaOrmStore;

    let store = SeaOrmStore::<token::Entity>::new(db.clone());                 // token entity related to your users
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;       // reads token + user in one query
    let auth = Authenticator::new(vec![AuthBackend::new("bearer", Bearer, strategy)])?;

    async fn me(CurrentUser(user, ..): CurrentUser<users::Model>) -> String {  // 401 unless logged in and active
        format!("hello {}", user.username)
    }
    let passwords = Passwords::new(db.clone())?;                               // your credential check (Clone)
    HttpServer::new(move || App::new().app_data(auth.clone())
            .route("/me", web::get().to(me))
            .service(auth_scope("/auth", auth.clone(), "bearer", passwords.clone()).unwrap())) // POST /auth/login, ...
        .bind("127.0.0.1:3000")?.run().await?;
    Ok(())
}

// README: "Sharing a table with fastapi-users".
#[rustfmt::skip]
fn fastapi_users_section(db: DatabaseConnection) -> Result {
    use std::time::Duration;
    use authtoken::{DatabaseStrategy, StorageMode};
    use authtoken_sea_orm::SeaOrmStore;

    mod accesstoken {
        authtoken_sea_orm::access_token_entity! { table_name = "accesstoken", user_id = uuid::Uuid, user = crate::user }
    }
    let strategy = DatabaseStrategy::new(SeaOrmStore::<accesstoken::Entity>::new(db), Some(Duration::from_secs(3600)))?
        .with_storage_mode(StorageMode::Plain);
    Ok(())
}

// README: "Redis and Redis Cluster".
#[rustfmt::skip]
async fn redis_section() -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken_redis::RedisStore;
    use uuid::Uuid;

    let store = RedisStore::<Uuid>::connect("redis://127.0.0.1:6379").await?;                  // one Redis
    let store = RedisStore::<Uuid>::connect("redis+cluster://redis-1:7000,redis-2:7000").await?; // a cluster
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
    Ok(())
}

// README: "Redis and Redis Cluster", sharing keys with fastapi-users.
#[rustfmt::skip]
async fn redis_fastapi_users_section() -> Result {
    use std::time::Duration;
    use authtoken::{DatabaseStrategy, StorageMode};
    use authtoken_redis::{RedisStore, ValueFormat};
    use uuid::Uuid;

    let store = RedisStore::<Uuid>::connect("redis://127.0.0.1:6379").await?
        .with_prefix("fastapi_users_token:").with_value_format(ValueFormat::UserIdOnly);
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?.with_storage_mode(StorageMode::Plain);
    Ok(())
}

// README: "Scaling out: MariaDB Galera".
#[rustfmt::skip]
async fn galera_section(db: DatabaseConnection) -> Result {
    use authtoken_sea_orm::{SeaOrmStore, access_token};

    let store = SeaOrmStore::<access_token::Entity>::new(db).detect_galera().await?;   // or .with_causal_reads()
    Ok(())
}

// README: "A cache that still honours revocation".
#[rustfmt::skip]
async fn cache_section(db: DatabaseConnection) -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken::cache::{CacheOptions, CachedStore};
    use authtoken_sea_orm::revocations::Revocations;
    use authtoken_sea_orm::{SeaOrmStore, access_token};

    let cached = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), CacheOptions::default())?;
    let revocations = Revocations::start(&db, cached.revocation_sink(), "access_token").await?;
    let strategy = DatabaseStrategy::new(cached.with_publisher(revocations.publisher()), Some(Duration::from_secs(3600)))?;
    Ok(())
}

// README: "A cache that still honours revocation", on Redis.
#[rustfmt::skip]
async fn redis_cache_section() -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken::cache::{CacheOptions, CachedStore};
    use authtoken_redis::{RedisRevocations, RedisStore};
    use uuid::Uuid;

    let cached = CachedStore::new(RedisStore::<Uuid>::connect("redis://127.0.0.1:6379").await?, CacheOptions::default())?;
    let revocations = RedisRevocations::start(cached.inner(), cached.revocation_sink()).await?;
    let strategy = DatabaseStrategy::new(cached.with_publisher(revocations.publisher()), Some(Duration::from_secs(3600)))?;
    Ok(())
}

// README: "API tokens", protecting a route by scope.
#[rustfmt::skip]
mod scoped_route_section {
    use authtoken_axum::{Scoped, Scopes};
    use super::users;

    struct Deploy;
    impl Scopes for Deploy { const REQUIRED: &'static [&'static str] = &["deploy"]; }

    async fn deploy(Scoped(user, ..): Scoped<users::Model, Deploy>) -> String { format!("deploying as {}", user.username) }
}

/// A user keyed by UUID, as `access_token::Entity`'s default id.
struct UuidUser(uuid::Uuid);

impl authtoken::User for UuidUser {
    type Id = uuid::Uuid;

    fn id(&self) -> &uuid::Uuid {
        &self.0
    }
}

// README: "API tokens".
#[rustfmt::skip]
async fn api_tokens_section(db: DatabaseConnection, user: UuidUser) -> Result {
    use std::time::Duration;
    use authtoken::{DatabaseStrategy, IssueOptions};
    use authtoken_sea_orm::{SeaOrmStore, access_token};

    let store = SeaOrmStore::<access_token::Entity>::new(db).detect_details().await?;   // or .with_details()
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;          // sessions: 1 hour
    let options = IssueOptions::new().name("CI deploy").scopes(["deploy", "read"]).lifetime(Duration::from_secs(90 * 24 * 3600));
    let token = strategy.issue_token(&user, &options).await?;                                  // this one: 90 days
    let row = strategy.read_token_row(token.expose_secret()).await?;                     // its name and scopes
    Ok(())
}

// README: "API tokens", a limit per user.
#[rustfmt::skip]
fn token_limit_section(store: authtoken::memory::MemoryStore<u64>) -> Result {
    use std::time::Duration;
    use authtoken::DatabaseStrategy;
    use authtoken::limit::{TokenLimit, WhenFull};

    let five_devices = TokenLimit::new(NonZeroU32::new(5).unwrap(), WhenFull::EvictOldest);   // or WhenFull::Refuse
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?.with_token_limit(five_devices);
    Ok(())
}

// README: "API tokens", in your own entity.
#[rustfmt::skip]
mod own_entity_section {
    use super::users;

    mod api_token {
    authtoken_sea_orm::access_token_entity! { table_name = "access_token", user_id = i64, user = super::users, details = true }
    }
}

// README: "Prefixed, checksummed tokens".
#[rustfmt::skip]
fn token_format_section(store: authtoken::memory::MemoryStore<u64>) -> Result {
    use std::time::Duration;
    use authtoken::{DatabaseStrategy, TokenFormat};

    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(90 * 24 * 3600)))?
        .with_token_format(TokenFormat::prefixed("atk_")?)?;   // atk_ + 43 characters + 6 (CRC32, base62)
    Ok(())
}

// README: "MongoDB".
#[rustfmt::skip]
async fn mongodb_section() -> Result {
    use std::time::Duration;
    use authtoken::{DatabaseStrategy, StorageMode};
    use authtoken_mongodb::mongodb::bson::oid::ObjectId;
    use authtoken_mongodb::{Layout, MongoStore};

    let store = MongoStore::<ObjectId>::connect("mongodb://127.0.0.1:27017/app").await?;
    store.ensure_indexes().await?;                    // the user, the creation time (purge); .with_ttl_index() adds a TTL index
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;

    let store = MongoStore::<ObjectId>::connect("mongodb://127.0.0.1:27017/app").await?.with_layout(Layout::beanie());
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?.with_storage_mode(StorageMode::Plain);
    Ok(())
}

/// The Markdown pages whose Rust code this file compiles: the README and every guide page.
fn pages() -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut pages = vec![("README.md".to_owned(), include_str!("../../README.md").to_owned())];
    let guide = format!("{root}/docs/guide/src");
    let mut names: Vec<_> = std::fs::read_dir(&guide)
        .expect("docs/guide/src")
        .map(|entry| entry.expect("a guide page").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(format!("{guide}/{name}")).expect("a readable page");
        pages.push((format!("docs/guide/src/{name}"), text));
    }
    pages
}

/// The ```rust blocks of `text`, each as its trimmed non-empty lines.
fn rust_blocks(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (number, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```rust") => current = Some((number + 1, Vec::new())),
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some((_, lines)) if !line.trim().is_empty() => lines.push(line.trim().to_owned()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn every_rust_block_of_the_readme_and_the_guide_is_compiled_here() {
    let this: Vec<String> = include_str!("readme.rs")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let mut total = 0;
    for (page, text) in pages() {
        for (line, block) in rust_blocks(&text) {
            total += 1;
            let found = this.windows(block.len()).any(|window| window == block.as_slice());
            assert!(
                found,
                "{page}'s rust block at line {line} is not compiled in tests/tests/readme.rs:\n{}",
                block.join("\n")
            );
        }
    }
    assert!(total >= 12, "found only {total} rust blocks in the README and the guide");
}

/// Every link of the README and the guide to a file of this repository (not a web address)
/// names a file that exists, and every `#anchor` into a guide page names one of its headings.
#[test]
fn the_readme_and_the_guide_link_to_what_exists() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let link = regex_lite_links;
    for (page, text) in pages() {
        let dir = root.join(&page).parent().expect("a folder").to_owned();
        for target in link(&text) {
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() { root.join(&page) } else { dir.join(path) };
            assert!(file.exists(), "{page} links to {target}, which does not exist");
            if !anchor.is_empty() && file.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&file).expect("a readable page");
                let anchors: Vec<String> = text
                    .lines()
                    .filter(|l| l.starts_with('#'))
                    .map(|l| heading_anchor(l.trim_start_matches('#')))
                    .collect();
                assert!(anchors.iter().any(|a| a == anchor), "{page}: no heading for {target}");
            }
        }
    }
}

/// The targets of `[text](target)` links outside code blocks.
fn regex_lite_links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    targets
}

/// The anchor mdBook and GitHub give a heading: lowercase, spaces to `-`, punctuation dropped.
fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The README's crate table names every published crate of the workspace with exactly the
/// features its manifest declares (`default` aside).
#[test]
fn the_readme_crate_table_matches_the_manifests() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = include_str!("../../README.md");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Crates"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| [`"))
        .collect();
    let mut named = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (crate_cell, features_cell) = (cells[1], cells[3]);
        let name = crate_cell.split('`').nth(1).expect("a crate name");
        let path = crate_cell.split("](").nth(1).and_then(|p| p.strip_suffix(')')).expect("a path");
        let manifest = std::fs::read_to_string(format!("{root}/{path}/Cargo.toml"))
            .unwrap_or_else(|e| panic!("{path}/Cargo.toml: {e}"));
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{path} is not {name}");
        let mut declared = manifest_features(&manifest);
        declared.sort();
        let mut listed: Vec<String> =
            features_cell.split('`').skip(1).step_by(2).map(str::to_owned).collect();
        listed.sort();
        assert_eq!(listed, declared, "the README's features of {name}");
        named.push(name.to_owned());
    }
    // Every library or tool a user installs is in the table.
    let workspace = std::fs::read_to_string(format!("{root}/Cargo.toml")).expect("the workspace");
    for member in workspace_members(&workspace) {
        let manifest = std::fs::read_to_string(format!("{root}/{member}/Cargo.toml"))
            .unwrap_or_else(|e| panic!("{member}/Cargo.toml: {e}"));
        if manifest.contains("publish = false") {
            continue;
        }
        let name = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|n| n.strip_suffix('"'))
            .expect("a package name");
        assert!(named.iter().any(|n| n == name), "the README's crate table misses {name}");
    }
}

/// The feature names of a manifest's `[features]` table, `default` left out.
fn manifest_features(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[features]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.starts_with('#') && !name.is_empty() && name != "default")
        .collect()
}

/// The `members` of the workspace manifest, globs expanded one level (`examples/*`).
fn workspace_members(workspace: &str) -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let list = workspace.split("members").nth(1).expect("a members list");
    let list = &list[list.find('[').expect("[") + 1..list.find(']').expect("]")];
    let mut members = Vec::new();
    for entry in list.split(',').map(|e| e.trim().trim_matches('"')).filter(|e| !e.is_empty()) {
        match entry.strip_suffix("/*") {
            Some(dir) => {
                for found in std::fs::read_dir(format!("{root}/{dir}")).expect("a member folder") {
                    let found = found.expect("an entry").file_name().to_string_lossy().into_owned();
                    members.push(format!("{dir}/{found}"));
                }
            }
            None => members.push(entry.to_owned()),
        }
    }
    members
}

/// The README's Diesel section.
#[rustfmt::skip]
mod diesel_readme {
    mod schema {
        diesel::table! {
            users (id) {
                id -> BigInt,
                email -> Text,
            }
        }
        // Instead of the table! print-schema would write: the same columns, portable SQL types.
        authtoken_diesel::access_token_table!(access_token, user_id = BigInt);
        diesel::joinable!(access_token -> users (user_id));
        diesel::allow_tables_to_appear_in_same_query!(access_token, users);
    }

    #[derive(diesel::Queryable, diesel::QueryableByName, diesel::Selectable)]
    #[diesel(table_name = schema::users)]
    pub struct User {
        pub id: i64,
        pub email: String,
    }

    impl authtoken::User for User {
        type Id = i64;
        fn id(&self) -> &i64 { &self.id }
    }

    // The joined read (token and user in one query) and DieselUsers, through the joinable! above.
    authtoken_diesel::join_users!(schema::access_token -> schema::users, User);

    async fn diesel_login(alice: &User, presented: &str) -> authtoken::Result<Option<User>> {
        use authtoken_diesel::{AsyncPgConnection, DieselStore};
        let pool = authtoken_diesel::connect::<AsyncPgConnection>("postgres://localhost/app", 16).await?;
        let store = DieselStore::<schema::access_token::table, AsyncPgConnection>::new(pool);
        let strategy = authtoken::DatabaseStrategy::new(store, Some(std::time::Duration::from_secs(3600)))?;
        let token = strategy.write_token(alice).await?;        // shown to Alice once
        let found = strategy.read_token(presented, &authtoken::Joined).await?; // one query: token and user
    Ok(found.map(|(user, _row)| user))
    }
}
