//! [`CreateRevocationPublication`]: PostgreSQL publishes every deleted token to logical decoding.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::default_revocation_channel;
use crate::identifiers::plain_identifiers;

/// An optional migration, after [`CreateAccessTokenTable`](crate::CreateAccessTokenTable), in
/// place of [`CreateRevocationTrigger`](crate::CreateRevocationTrigger) on a PostgreSQL server
/// with `wal_level = logical`: a publication of the token table's deletes and truncates, named
/// [`default_revocation_channel`]`(token_table)`, which the cache's logical channel
/// (`authtoken_sea_orm::revocations::PgLogicalRevocations`) decodes from the write-ahead log.
/// Like the trigger it sees every way a token dies (logout, log out everywhere, an operator's
/// `DELETE`, purge, the cascade from the user table, `TRUNCATE`); unlike the trigger's `NOTIFY`
/// it adds nothing to the deleting transaction, whose commits then no longer queue behind one
/// another. The deleted rows carry the table's primary key, the token's key.
///
/// On other databases it does nothing.
///
/// ```
/// use authtoken_migration::{CreateAccessTokenTable, CreateRevocationPublication, UserIdType};
/// use sea_orm_migration::MigrationTrait;
///
/// let migrations: Vec<Box<dyn MigrationTrait>> = vec![
///     Box::new(CreateAccessTokenTable::new("user", "id", UserIdType::Uuid)),
///     Box::new(CreateRevocationPublication::new("access_token")),
/// ];
/// ```
#[derive(Debug, Clone)]
pub struct CreateRevocationPublication {
    table: String,
    publication: String,
    name: String,
}

impl CreateRevocationPublication {
    /// The publication of `token_table`.
    pub fn new(token_table: &str) -> Self {
        Self {
            table: token_table.to_owned(),
            publication: default_revocation_channel(token_table),
            name: format!("m20261206_000001_create_{token_table}_revocation_publication"),
        }
    }

    fn statements(&self) -> Result<Vec<String>, DbErr> {
        plain_identifiers(&[&self.table, &self.publication])?;
        let (table, publication) = (&self.table, &self.publication);
        Ok(vec![
            format!(r#"DROP PUBLICATION IF EXISTS "{publication}""#),
            format!(
                r#"CREATE PUBLICATION "{publication}" FOR TABLE "{table}" WITH (publish = 'delete, truncate')"#
            ),
        ])
    }
}

impl MigrationName for CreateRevocationPublication {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRevocationPublication {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        for statement in self.statements()? {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        plain_identifiers(&[&self.publication])?;
        let statement = format!(r#"DROP PUBLICATION IF EXISTS "{}""#, self.publication);
        manager.get_connection().execute_unprepared(&statement).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_identifiers() {
        assert!(CreateRevocationPublication::new("access_token").statements().is_ok());
        assert!(CreateRevocationPublication::new("x\"; DROP TABLE y; --").statements().is_err());
    }
}
