//! A fresh database for one benchmark run, made beside the one the URL names and dropped after.

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The benchmark's own database.
pub struct FreshDatabase {
    /// Its URL.
    pub url: String,
    /// What the report calls it: `sqlite`, `postgres` or `mysql`.
    pub backend: &'static str,
    name: String,
    server_url: String,
    file: Option<String>,
}

impl FreshDatabase {
    /// Makes a database named after this process: a new SQLite file in the named file's folder,
    /// or a new database on the named server.
    pub async fn create(server_url: &str) -> anyhow::Result<Self> {
        let name = format!("authtoken_bench_{}", std::process::id());
        if let Some(rest) = server_url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            let folder = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
            let file = folder
                .map_or_else(|| format!("{name}.db"), |f| format!("{}/{name}.db", f.display()));
            std::fs::remove_file(&file).ok();
            let url = format!("sqlite://{file}?mode=rwc");
            return Ok(Self {
                url,
                backend: "sqlite",
                name,
                server_url: server_url.into(),
                file: Some(file),
            });
        }
        let backend = if server_url.starts_with("postgres") { "postgres" } else { "mysql" };
        let admin = connect(server_url, 1).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        admin.close().await?;
        let mut url = url::Url::parse(server_url).context("parsing --database-url")?;
        url.set_path(&format!("/{name}"));
        Ok(Self { url: url.to_string(), backend, name, server_url: server_url.into(), file: None })
    }

    /// A pool of exactly `connections` connections, all opened up front.
    pub async fn pool(&self, connections: u32) -> anyhow::Result<DatabaseConnection> {
        connect(&self.url, connections).await
    }

    /// The name it was given.
    pub fn name(&self) -> &str {
        self.file.as_deref().unwrap_or(&self.name)
    }

    /// Drops the database (or deletes the file).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{file}{suffix}")).ok();
            }
            return Ok(());
        }
        let admin = connect(&self.server_url, 1).await?;
        let drop = format!("DROP DATABASE {}", self.name);
        // A logical revocation channel's slot lives as long as its connection, which a peer
        // process that just exited may still be closing: end it, and wait for the slot to go.
        let mut tries = 0;
        while let Err(error) = admin.execute_unprepared(&drop).await {
            tries += 1;
            if !error.to_string().contains("replication slot") || tries >= 100 {
                return Err(error.into());
            }
            let terminate = format!(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE database = '{}' AND active_pid IS NOT NULL",
                self.name
            );
            admin.execute_unprepared(&terminate).await.ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

async fn connect(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(connections)
        .min_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    Database::connect(options).await.with_context(|| format!("connecting to {url}"))
}
