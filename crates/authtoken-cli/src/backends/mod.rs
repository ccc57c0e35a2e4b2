//! One module per store the CLI drives, each a `run(url, options, command)`: adding a store is
//! one file here, one variant and its two rows below.

#[cfg(feature = "diesel")]
mod diesel;
#[cfg(feature = "mongodb")]
mod mongodb;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sea-orm")]
mod sea_orm;

use crate::args::{Command, Orm, TableOptions};
use crate::connect;
use crate::context::Outcome;

/// The stores the CLI drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// authtoken-sea-orm on a SQL URL (the default).
    SeaOrm,
    /// authtoken-diesel on a SQL URL (`--orm diesel`).
    Diesel,
    /// authtoken-redis.
    Redis,
    /// authtoken-mongodb.
    MongoDb,
}

impl Backend {
    /// The store that serves `url` (by its scheme) with `--orm`.
    pub fn for_url(url: &str, orm: Orm) -> anyhow::Result<Self> {
        Ok(match (connect::is_mongodb(url), connect::is_redis(url), orm) {
            (true, _, Orm::SeaOrm) => Self::MongoDb,
            (_, true, Orm::SeaOrm) => Self::Redis,
            (false, false, Orm::SeaOrm) => Self::SeaOrm,
            (false, false, Orm::Diesel) => Self::Diesel,
            (_, _, Orm::Diesel) => {
                anyhow::bail!("--orm diesel is for SQL databases (sqlite, postgres, mysql)")
            }
        })
    }

    /// The cargo feature that builds this store in.
    pub fn feature(self) -> &'static str {
        match self {
            Self::SeaOrm => "sea-orm",
            Self::Diesel => "diesel",
            Self::Redis => "redis",
            Self::MongoDb => "mongodb",
        }
    }

    /// Runs `command` on this store at `url`.
    pub async fn run(
        self,
        url: &str,
        options: &TableOptions,
        command: Command,
    ) -> anyhow::Result<Outcome> {
        let _ = (url, options, &command);
        match self {
            #[cfg(feature = "sea-orm")]
            Self::SeaOrm => sea_orm::run(url, options, command).await,
            #[cfg(feature = "diesel")]
            Self::Diesel => diesel::run(url, options, command).await,
            #[cfg(feature = "redis")]
            Self::Redis => redis::run(url, options, command).await,
            #[cfg(feature = "mongodb")]
            Self::MongoDb => mongodb::run(url, options, command).await,
            #[allow(unreachable_patterns)]
            other => anyhow::bail!(
                "this authtoken was built without the `{}` feature: reinstall it with that feature",
                other.feature()
            ),
        }
    }
}
