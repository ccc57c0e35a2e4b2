//! The benchmark's own tables: `bench_user` (i64 ids) and the token table, by the real migration.

use authtoken_migration::{
    CreateAccessTokenTable, CreateRefreshTokenTables, CreateRevocationLog,
    CreateRevocationPublication, CreateRevocationTrigger, UserIdType,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Schema};
use sea_orm_migration::{MigrationTrait, SchemaManager};

/// The users the tokens belong to.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A benchmark user.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bench_user")]
    pub struct Model {
        /// The key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        /// A name, so the join returns more than the key.
        pub name: String,
    }

    /// None.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl authtoken::User for Model {
        type Id = i64;

        fn id(&self) -> &i64 {
            &self.id
        }
    }
}

/// The token table, related to `bench_user` for the one-query read.
pub mod token {
    authtoken_sea_orm::access_token_entity! {
        table_name = "access_token",
        user_id = i64,
        user = crate::schema::user,
    }
}

/// Creates both tables and `users` users with ids `1..=users`.
pub async fn create(db: &DatabaseConnection, users: usize) -> anyhow::Result<()> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // What a SQLite deployment with concurrent requests runs: readers never block the
        // writer. (In the default rollback-journal mode a purge starves behind 16 readers.)
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    let schema = Schema::new(db.get_database_backend());
    db.execute(&schema.create_table_from_entity(user::Entity)).await?;
    CreateAccessTokenTable::new("bench_user", "id", UserIdType::Int64)
        .up(&SchemaManager::new(db))
        .await?;
    // What the cache's revocation channel needs: on PostgreSQL the publication where the
    // server decodes its WAL logically, the NOTIFY trigger where it does not; the revocation
    // log elsewhere (each migration does nothing on the other databases).
    if decodes_logically(db).await? {
        CreateRevocationPublication::new("access_token").up(&SchemaManager::new(db)).await?;
    } else {
        CreateRevocationTrigger::new("access_token").up(&SchemaManager::new(db)).await?;
    }
    CreateRefreshTokenTables::new("bench_user", "id", UserIdType::Int64)
        .up(&SchemaManager::new(db))
        .await?;
    CreateRevocationLog::new("access_token", "bench_user", "id")
        .up(&SchemaManager::new(db))
        .await?;
    let ids: Vec<usize> = (1..=users).collect();
    for chunk in ids.chunks(500) {
        let values: Vec<String> = chunk.iter().map(|id| format!("({id}, 'user{id}')")).collect();
        db.execute_unprepared(&format!(
            "INSERT INTO bench_user (id, name) VALUES {}",
            values.join(", ")
        ))
        .await?;
    }
    Ok(())
}

/// Whether `db` is a PostgreSQL server with `wal_level = logical`: the bench then measures the
/// logical revocation channel (the publication, no trigger).
pub async fn decodes_logically(db: &DatabaseConnection) -> anyhow::Result<bool> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(false);
    }
    let row = db.query_one_raw(sea_orm::Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT current_setting('wal_level') = 'logical'",
    ));
    let row = row.await?.ok_or_else(|| anyhow::anyhow!("no wal_level"))?;
    Ok(row.try_get_by_index::<bool>(0)?)
}
