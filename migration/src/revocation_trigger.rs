//! [`CreateRevocationTrigger`]: PostgreSQL announces every deleted token on a NOTIFY channel.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::identifiers::plain_identifiers;

/// The channel the trigger of `token_table` notifies by default, and the one
/// `authtoken_sea_orm::revocations::PgRevocations` listens on: `{token_table}_revocations`.
///
/// ```
/// assert_eq!(authtoken_migration::default_revocation_channel("accesstoken"), "accesstoken_revocations");
/// ```
pub fn default_revocation_channel(token_table: &str) -> String {
    let mut channel = format!("{}_revocations", token_table.replace('.', "_"));
    // PostgreSQL identifiers are at most 63 bytes (`pg_notify` refuses a longer channel): both
    // sides cut the same way.
    let mut end = channel.len().min(63);
    while !channel.is_char_boundary(end) {
        end -= 1;
    }
    channel.truncate(end);
    channel
}

/// Keys per notification: 100 keys of 43 characters stay well inside NOTIFY's 8000 bytes.
const KEYS_PER_NOTIFICATION: u32 = 100;

/// An optional migration, after [`CreateAccessTokenTable`](crate::CreateAccessTokenTable): on
/// PostgreSQL, a statement trigger on the token table that notifies the deleted keys on a
/// channel, in the deleting transaction (so only committed deletes are announced). It sees every
/// way a token dies: logout, log out everywhere, an operator's `revoke` or `DELETE`, purge, and
/// the `ON DELETE CASCADE` from the user table; a `TRUNCATE` announces "everything". The cache's
/// listener (`authtoken_sea_orm::revocations::PgRevocations`) needs it.
///
/// On other databases it does nothing: they have no notification channel.
///
/// ```
/// use authtoken_migration::{CreateAccessTokenTable, CreateRevocationTrigger, UserIdType};
/// use sea_orm_migration::MigrationTrait;
///
/// let migrations: Vec<Box<dyn MigrationTrait>> = vec![
///     Box::new(CreateAccessTokenTable::new("user", "id", UserIdType::Uuid)),
///     Box::new(CreateRevocationTrigger::new("access_token")),
/// ];
/// ```
#[derive(Debug, Clone)]
pub struct CreateRevocationTrigger {
    table: String,
    channel: String,
    name: String,
}

impl CreateRevocationTrigger {
    /// The trigger on `token_table`, notifying [`default_revocation_channel`]`(token_table)`.
    pub fn new(token_table: &str) -> Self {
        Self {
            table: token_table.to_owned(),
            channel: default_revocation_channel(token_table),
            name: format!("m20260101_000003_create_{token_table}_revocation_trigger"),
        }
    }

    /// Notifies `channel` instead (a PostgreSQL identifier: letters, digits, `_`).
    pub fn with_channel(mut self, channel: &str) -> Self {
        self.channel = channel.to_owned();
        self
    }

    fn function(&self) -> String {
        format!("{}_notify_revoked", self.table)
    }

    fn statements(&self) -> Result<Vec<String>, DbErr> {
        plain_identifiers(&[&self.table, &self.channel])?;
        let (table, channel, function) = (&self.table, &self.channel, self.function());
        Ok(vec![
            format!(
                r#"CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE chunk text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('{channel}', '*');
    RETURN NULL;
  END IF;
  FOR chunk IN
    SELECT string_agg(token, ',') FROM (
      SELECT token, (row_number() OVER () - 1) / {KEYS_PER_NOTIFICATION} AS part FROM gone
    ) numbered GROUP BY part
  LOOP
    PERFORM pg_notify('{channel}', 'k:' || chunk);
  END LOOP;
  RETURN NULL;
END $$"#
            ),
            format!(r#"DROP TRIGGER IF EXISTS "{table}_revoked" ON "{table}""#),
            format!(
                r#"CREATE TRIGGER "{table}_revoked" AFTER DELETE ON "{table}"
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()"#
            ),
            format!(r#"DROP TRIGGER IF EXISTS "{table}_truncated" ON "{table}""#),
            format!(
                r#"CREATE TRIGGER "{table}_truncated" AFTER TRUNCATE ON "{table}"
FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()"#
            ),
        ])
    }
}

impl MigrationName for CreateRevocationTrigger {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRevocationTrigger {
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
        let (table, function) = (&self.table, self.function());
        for statement in [
            format!(r#"DROP TRIGGER IF EXISTS "{table}_revoked" ON "{table}""#),
            format!(r#"DROP TRIGGER IF EXISTS "{table}_truncated" ON "{table}""#),
            format!(r#"DROP FUNCTION IF EXISTS "{function}"()"#),
        ] {
            manager.get_connection().execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_identifiers() {
        assert!(CreateRevocationTrigger::new("access_token").statements().is_ok());
        assert!(CreateRevocationTrigger::new("x\"; DROP TABLE y; --").statements().is_err());
        let bad_channel = CreateRevocationTrigger::new("access_token").with_channel("a'b");
        assert!(bad_channel.statements().is_err());
    }
}
