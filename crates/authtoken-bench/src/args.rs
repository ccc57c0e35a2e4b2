//! The benchmark's command line.

use clap::Parser;

/// Times each authtoken operation, at each concurrency level, beside the bare SQL it stands on.
#[derive(Debug, Parser)]
#[command(name = "authtoken-bench")]
pub struct Args {
    /// The server or file to benchmark on. The benchmark makes a fresh database there (a new
    /// SQLite file beside the one named), prints its name, and drops it at the end.
    #[arg(long)]
    pub database_url: String,
    /// Users to create.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Operations per measurement.
    #[arg(long, default_value_t = 5000)]
    pub ops: usize,
    /// Concurrency levels: N tasks on a pool of N connections.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub concurrency: Vec<usize>,
    /// After the main run, fill the table to this many rows and measure `read_token` again.
    #[arg(long, default_value_t = 0)]
    pub tokens: usize,
    /// Purge this many expired rows while `read_token` runs at the highest concurrency.
    #[arg(long, default_value_t = 0)]
    pub purge_rows: usize,
    /// Revocations timed from this process's logout to a second process's cache refusing the
    /// token (0 skips the measurement).
    #[arg(long, default_value_t = 1000)]
    pub revocations: usize,
    /// Time revocations without the second process's bare listener beside its cache (on
    /// PostgreSQL's logical decoding that listener is a second WAL decoder, competing for the
    /// cores with the one measured).
    #[arg(long)]
    pub no_channel_floor: bool,
    /// A second node of the same MariaDB Galera cluster: writes go through `--database-url`,
    /// reads through this one (the floor the same way), and stale reads are counted.
    #[arg(long)]
    pub read_url: Option<String>,
    /// PostgreSQL streaming standbys of `--database-url` (comma-separated server URLs): token
    /// reads through them (`with_read_replicas`) beside the primary alone, and the stale-read
    /// count of logins and revokes read right after (the run fails on one).
    #[arg(long, value_delimiter = ',', conflicts_with = "read_url")]
    pub read_urls: Vec<String>,
    /// The store a SQL run measures: `sea-orm`, or `diesel` (the Diesel store on the same
    /// tables, each read beside a bare Diesel query on the same pool).
    #[arg(long, value_enum, default_value_t = Orm::SeaOrm)]
    pub orm: Orm,
    /// One JSON object per measurement instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the run as an SVG chart (ops/s beside each floor, p50/p99 bars) into this file.
    #[arg(long)]
    pub chart: Option<std::path::PathBuf>,
}

/// The ORM whose store a SQL run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Orm {
    /// `authtoken-sea-orm`.
    SeaOrm,
    /// `authtoken-diesel`.
    Diesel,
}
