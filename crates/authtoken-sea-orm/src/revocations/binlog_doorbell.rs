//! MySQL/MariaDB's binary log as the revocation log's doorbell (feature `mysql-binlog`): a
//! replication connection streams the server's row events; the rows each committed
//! transaction wrote to the revocation log are applied to the cache as they arrive, and ring,
//! so the log's poller reads (and proves the cache current) at once instead of at its next
//! tick. The log stays the record (its gaps, the cascade's rows, published revocations); the
//! stream only makes revocations early, never late: while it is down the poller reads on its
//! interval, as it does where the binary log is off.

use std::sync::Arc;
use std::time::Duration;

use authtoken::cache::{Revocation, RevocationSink};
use futures_util::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, OptsBuilder, Value};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long a broken stream rests before it connects again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Rings when a transaction that wrote to the revocation log commits; stops when dropped.
pub(super) struct BinlogDoorbell {
    rung: Arc<Notify>,
    task: JoinHandle<()>,
}

impl BinlogDoorbell {
    /// A doorbell for `log` in `db`'s database; `None` where the server keeps no binary log in
    /// row format (the poller then reads on its interval). Logs in with the pool's host, port
    /// and user and `MYSQL_PWD`'s password (the role needs `REPLICATION SLAVE` and, on MariaDB,
    /// `BINLOG MONITOR`).
    pub(super) async fn open(
        db: &DatabaseConnection,
        log: &str,
        sink: RevocationSink,
    ) -> Option<Self> {
        let pool = db.get_mysql_connection_pool();
        let settings: (i64, String, Option<String>) =
            sea_orm::sqlx::query_as("SELECT @@log_bin, @@binlog_format, DATABASE()")
                .fetch_one(pool)
                .await
                .ok()?;
        let (1, format, Some(database)) = settings else { return None };
        if !format.eq_ignore_ascii_case("ROW") {
            return None;
        }
        // Where the log's rows keep the key and the user (row events carry no column names).
        let columns: Vec<(String, i64)> = sea_orm::sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(ORDINAL_POSITION AS SIGNED) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(log)
        .fetch_all(pool)
        .await
        .ok()?;
        let position_of = |name: &str| {
            let (_, position) = columns.iter().find(|(column, _)| column == name)?;
            usize::try_from(*position - 1).ok()
        };
        let columns = LogColumns { token: position_of("token")?, user: position_of("user_id")? };
        let options = pool.connect_options();
        let mut login = OptsBuilder::default()
            .ip_or_hostname(options.get_host())
            .tcp_port(options.get_port())
            .user(Some(options.get_username()))
            .pass(std::env::var("MYSQL_PWD").ok())
            .prefer_socket(false);
        if let Some(socket) = options.get_socket() {
            login = login.socket(Some(socket.display().to_string()));
        }
        let rung = Arc::new(Notify::new());
        let stream =
            Stream { login, database, log: log.to_owned(), columns, sink, rung: Arc::clone(&rung) };
        Some(Self { rung, task: tokio::spawn(stream.run()) })
    }

    /// Waits until a transaction that wrote to the log commits (or returns at once if one did
    /// since the last call).
    pub(super) async fn rung(&self) {
        self.rung.notified().await;
    }
}

impl Drop for BinlogDoorbell {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The positions of the log's columns in its rows.
#[derive(Clone, Copy)]
struct LogColumns {
    token: usize,
    user: usize,
}

struct Stream {
    login: OptsBuilder,
    database: String,
    log: String,
    columns: LogColumns,
    sink: RevocationSink,
    rung: Arc<Notify>,
}

impl Stream {
    async fn run(self) {
        let mut warned = false;
        loop {
            if let Err(error) = self.stream().await
                && !warned
            {
                warned = true;
                tracing::warn!(
                    %error,
                    "authtoken: cannot stream the binary log; the revocation log is read on its interval"
                );
            }
            // Whatever committed while the stream was down is read by the poller on its
            // interval, as where there is no binary log.
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    }

    async fn stream(&self) -> mysql_async::Result<()> {
        let mut conn = Conn::new(self.login.clone()).await?;
        // Read column by column, never converted whole: a conversion that does not fit panics.
        let status: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await?;
        let file_and_position = status.and_then(|row| {
            let file: String = row.get_opt(0)?.ok()?;
            let position: u64 = row.get_opt(1)?.ok()?;
            Some((file, position))
        });
        let (file, position) = file_and_position.ok_or_else(|| {
            mysql_async::Error::Other("SHOW MASTER STATUS: no binary log position".into())
        })?;
        // Any id unique among this server's replicas: a second dump with the same id would end
        // the first.
        let server_id = 0x4000_0000 | (uuid::Uuid::new_v4().as_u128() as u32 >> 2);
        let request =
            BinlogStreamRequest::new(server_id).with_filename(file.as_bytes()).with_pos(position);
        let mut events = conn.get_binlog_stream(request).await?;
        while let Some(event) = events.next().await {
            let event = event?;
            // Only committed transactions are in the binary log: their rows are revocations.
            let Ok(Some(EventData::RowsEvent(rows))) = event.read_data() else { continue };
            let (RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_)) = rows
            else {
                continue;
            };
            let Some(table) = events.get_tme(rows.table_id()) else { continue };
            if table.table_name() != self.log || table.database_name() != self.database {
                continue;
            }
            for row in rows.rows(table) {
                // A row that does not read as the log's is anything: drop everything.
                let revocation = match row {
                    Ok((_, Some(row))) => self.revocation(&row),
                    _ => Revocation::All,
                };
                self.sink.apply(&revocation).await;
            }
            self.rung.notify_one();
        }
        Ok(())
    }

    /// The revocation a log row records, as the poller reads it: a key, else a user, else
    /// everything.
    fn revocation(&self, row: &BinlogRow) -> Revocation {
        let text = |index: usize| match row.as_ref(index) {
            Some(BinlogValue::Value(Value::Bytes(bytes))) => {
                String::from_utf8(bytes.clone()).ok().map(Some)
            }
            Some(BinlogValue::Value(Value::Int(n))) => Some(Some(n.to_string())),
            Some(BinlogValue::Value(Value::UInt(n))) => Some(Some(n.to_string())),
            Some(BinlogValue::Value(Value::NULL)) => Some(None),
            // Not in the row image (binlog_row_image = MINIMAL), or not a type the log's
            // columns have: unreadable.
            _ => None,
        };
        match (text(self.columns.token), text(self.columns.user)) {
            (Some(Some(key)), _) => Revocation::Tokens(vec![key]),
            (Some(None), Some(Some(user))) => Revocation::User(user),
            _ => Revocation::All,
        }
    }
}
