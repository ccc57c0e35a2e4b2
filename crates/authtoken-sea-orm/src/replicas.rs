//! Token reads on PostgreSQL streaming replicas, over SeaORM connections: the statements and
//! the rules are `authtoken_sql`'s (see its `ReplicaCheck` and `ReplicaSet` for the guarantee),
//! run here on SeaORM's raw-SQL path.

use authtoken::{Error, Result};
use authtoken_sql::{
    FRESH, FRESHNESS_PROBE, PRIMARY_SETTINGS, REPLICA_STATE, ReplicaCheck, ReplicaSet,
    SYNCHRONOUS_STANDBYS, refuse_replicas,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryResult, Statement, Value,
};

/// The replicas a SeaORM store reads from.
pub(crate) type Replicas = ReplicaSet<DatabaseConnection>;

/// The row `sql` finds on the next caught-up replica; `None` sends the read to the primary.
pub(crate) async fn fresh_row(
    replicas: &Replicas,
    sql: &str,
    values: Vec<Value>,
) -> Option<QueryResult> {
    // First whether it has replayed all it has received (a probe shared with the reads that
    // arrive meanwhile), then the row, in a later statement: the row is read from a snapshot
    // taken after the replay the probe saw, which is past every commit that returned before
    // this read began (each was applied here first). In one statement the snapshot would come
    // first and the check after, and a revoke replayed in between would pass unseen.
    let probe = Statement::from_string(DatabaseBackend::Postgres, FRESHNESS_PROBE);
    let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
    replicas
        .read(
            |conn| async move {
                let row = conn.query_one_raw(probe).await?;
                Ok(row.and_then(|row| row.try_get::<Option<bool>>("", FRESH).ok().flatten()))
            },
            |conn| conn.query_one_raw(statement),
        )
        .await
}

/// Checks that `primary` waits for every one of `replicas` to apply each commit, and that each
/// replica can report its freshness; the reason it cannot be relied on otherwise.
pub(crate) async fn check(
    primary: &DatabaseConnection,
    replicas: &[DatabaseConnection],
) -> Result<()> {
    let postgres = primary.get_database_backend() == DatabaseBackend::Postgres;
    refuse_replicas(postgres, replicas.len())?;
    let text =
        |row: &QueryResult, column: &str| row.try_get::<String>("", column).map_err(Error::store);
    let flag =
        |row: &QueryResult, column: &str| row.try_get::<bool>("", column).map_err(Error::store);
    let settings = one(primary, PRIMARY_SETTINGS).await?;
    let statement = Statement::from_string(DatabaseBackend::Postgres, SYNCHRONOUS_STANDBYS);
    let standbys: Vec<(String, String)> = primary
        .query_all_raw(statement)
        .await
        .map_err(Error::store)?
        .iter()
        .map(|row| Ok((text(row, "application_name")?, text(row, "sync_state")?)))
        .collect::<Result<_>>()?;
    let check = ReplicaCheck::new(
        flag(&settings, "standby")?,
        &text(&settings, "commit")?,
        &text(&settings, "names")?,
        standbys,
    )?;
    for (index, replica) in replicas.iter().enumerate() {
        let row = one(replica, REPLICA_STATE).await?;
        let conninfo: Option<String> = row.try_get("", "conninfo").map_err(Error::store)?;
        check.replica(index, flag(&row, "standby")?, flag(&row, "knows")?, conninfo.as_deref())?;
    }
    Ok(())
}

/// The one row `sql` returns on `conn`.
async fn one(conn: &DatabaseConnection, sql: &str) -> Result<QueryResult> {
    let statement = Statement::from_string(DatabaseBackend::Postgres, sql.to_owned());
    conn.query_one_raw(statement)
        .await
        .map_err(Error::store)?
        .ok_or_else(|| Error::store(format!("`{sql}` returned no row")))
}
