//! One fresh database per test, on each SQL engine, dropped again when the test passes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// A SQL engine the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// The server named by `AUTHTOKEN_TEST_POSTGRES_URL`, or the local one on port 5432.
    Postgres,
    /// The server named by `AUTHTOKEN_TEST_MYSQL_URL` (MySQL or MariaDB), or the local one on
    /// port 3306.
    MySql,
}

impl Engine {
    fn server_url_variable(self) -> Option<&'static str> {
        match self {
            Engine::Sqlite => None,
            Engine::Postgres => Some("AUTHTOKEN_TEST_POSTGRES_URL"),
            Engine::MySql => Some("AUTHTOKEN_TEST_MYSQL_URL"),
        }
    }

    /// Where the machine's own server usually listens, used when the variable is unset.
    fn default_url(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Engine::MySql => "mysql://root@127.0.0.1:3306/test",
        }
    }

    /// The server URL: from the environment, else the usual local address. `None` (with a
    /// notice) when neither is reachable outside CI; in CI (`CI` set) a missing server is a
    /// failure, never a silent skip.
    pub fn server_url(self) -> Option<String> {
        let Some(variable) = self.server_url_variable() else {
            return Some(String::new());
        };
        if let Ok(url) = std::env::var(variable).map(|url| url.trim().to_owned())
            && !url.is_empty()
        {
            return Some(url);
        }
        let url = self.default_url();
        if std::env::var_os("CI").is_some() || local_server_answers(url) {
            return Some(url.to_owned());
        }
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {variable} is not set and nothing answers at {url}, so this {self:?} test did not run"
        );
        None
    }
}

/// Whether something accepts connections at the URL's host and port, asked once per process
/// and URL (a refused port answers at once; a filtered one within a second).
fn local_server_answers(url: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    *seen.entry(url.to_owned()).or_insert_with(|| {
        let Ok(parsed) = url::Url::parse(url) else { return false };
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port()) else { return false };
        let Ok(mut addresses) = std::net::ToSocketAddrs::to_socket_addrs(&(host, port)) else {
            return false;
        };
        addresses.any(|address| {
            std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(1))
                .is_ok()
        })
    })
}

/// A database of its own for one test.
pub struct TestDb {
    /// A pool on the test's database.
    pub conn: DatabaseConnection,
    /// The engine it lives on.
    pub engine: Engine,
    /// The database's URL (what a CLI would be given).
    pub url: String,
    name: String,
    server_url: String,
    file: Option<PathBuf>,
}

fn unique_name() -> String {
    format!("authtoken_test_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// `server_url` with its database (path) replaced by `name`.
fn database_url(server_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(server_url).expect("a valid database server URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn connect(url: &str, max_connections: u32) -> DatabaseConnection {
    connect_with(url, max_connections, None).await
}

/// A pool on `url`; with `session_sql`, every connection runs it as it opens, so every statement
/// of the test runs in such a session whichever connection the pool hands out.
async fn connect_with(
    url: &str,
    max_connections: u32,
    session_sql: Option<&str>,
) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url);
    // A bounded wait: a pool that lost its connection fails the test instead of hanging it.
    options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false);
    if let Some(sql) = session_sql {
        let sql: Arc<str> = Arc::from(sql);
        let postgres_sql = Arc::clone(&sql);
        options.map_sqlx_postgres_pool_opts(move |pool| {
            let sql = Arc::clone(&postgres_sql);
            pool.after_connect(move |conn, _| {
                let sql = Arc::clone(&sql);
                Box::pin(async move {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                        .execute(conn)
                        .await
                        .map(drop)
                })
            })
        });
        options.map_sqlx_mysql_pool_opts(move |pool| {
            let sql = Arc::clone(&sql);
            pool.after_connect(move |conn, _| {
                let sql = Arc::clone(&sql);
                Box::pin(async move {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                        .execute(conn)
                        .await
                        .map(drop)
                })
            })
        });
    }
    Database::connect(options).await.unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

impl TestDb {
    /// Creates a new empty database on `engine`; `None` if the engine's server is not configured.
    ///
    /// With `session_sql` (say, a `SET TIME ZONE`, on PostgreSQL or MySQL), every connection of
    /// the pool runs it when it opens, so every statement of the test runs in such a session.
    /// (The drivers set UTC when they connect, so a URL parameter cannot do this.)
    pub async fn create(engine: Engine, session_sql: Option<&str>) -> Option<Self> {
        let server_url = engine.server_url()?;
        Some(Self::create_at(engine, server_url, session_sql).await)
    }

    /// Creates a new empty database on the server at `server_url` (PostgreSQL or MySQL).
    pub async fn create_at(engine: Engine, server_url: String, session_sql: Option<&str>) -> Self {
        let name = unique_name();
        let (url, file) = match engine {
            Engine::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                (format!("sqlite://{}?mode=rwc", file.display()), Some(file))
            }
            Engine::Postgres | Engine::MySql => {
                let admin = connect(&server_url, 1).await;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                admin.close().await.ok();
                (database_url(&server_url, &name), None)
            }
        };
        if session_sql.is_some() {
            assert!(engine != Engine::Sqlite, "session SQL is for PostgreSQL and MySQL");
        }
        let conn = connect_with(&url, 8, session_sql).await;
        Self { conn, engine, url, name, server_url, file }
    }

    /// A pool on this test's database through another server of the same cluster (its URL
    /// with this database), every session starting with `session_sql` if given.
    pub async fn connect_through(
        &self,
        server_url: &str,
        session_sql: Option<&str>,
    ) -> DatabaseConnection {
        connect_with(&database_url(server_url, &self.name), 8, session_sql).await
    }

    /// This test's database's URL on another server of the same cluster.
    pub fn url_through(&self, server_url: &str) -> String {
        database_url(server_url, &self.name)
    }

    /// Closes the pool and drops the database.
    pub async fn drop_database(self) {
        self.conn.close().await.ok();
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", file.display())).ok();
            }
            return;
        }
        let admin = connect(&self.server_url, 1).await;
        // A pool a test dropped may still be closing its connections (deadpool closes them
        // as their tasks end): PostgreSQL ends them rather than refuse.
        let force = if self.engine == Engine::Postgres { " WITH (FORCE)" } else { "" };
        let drop = format!("DROP DATABASE IF EXISTS {}{force}", self.name);
        // FORCE does not end the WAL senders of a logical revocation channel a test dropped
        // without stopping: end them, and wait for the server to drop their temporary slots.
        let mut tries = 0;
        while let Err(error) = admin.execute_unprepared(&drop).await {
            tries += 1;
            assert!(
                error.to_string().contains("replication slot") && tries < 100,
                "DROP DATABASE {}: {error}",
                self.name
            );
            admin
                .execute_unprepared(&format!(
                    "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                     WHERE database = '{}' AND active_pid IS NOT NULL",
                    self.name
                ))
                .await
                .ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        admin.close().await.ok();
    }
}

/// The first column of the first row of `sql`, as text.
pub async fn query_one_string(db: &TestDb, sql: &str) -> String {
    let backend = db.conn.get_database_backend();
    let row = db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<String>(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
}
