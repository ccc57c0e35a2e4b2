//! The channel's floor beside the cache's propagation: in the peer process, a bare listener on
//! the same PostgreSQL channel the cache listens to (the NOTIFY channel, or a logical
//! replication stream of the same publication), stamping each message as it arrives. The time
//! from the logout to that stamp is what the channel itself takes; the rest of the propagation
//! is the cache's (its listener's wake-up, the sink, the read that refuses).

use std::sync::{Arc, Mutex};

use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent};
use sea_orm::sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

/// Messages heard on the channel since the last [`clear`](ChannelTap::clear), with when.
pub struct ChannelTap {
    heard: Arc<Mutex<Vec<(String, u128)>>>,
    task: JoinHandle<()>,
}

impl ChannelTap {
    /// Listens on `channel` of the PostgreSQL database at `url`.
    pub async fn postgres(url: &str, channel: &str) -> anyhow::Result<Self> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        let heard: Arc<Mutex<Vec<(String, u128)>>> = Arc::default();
        let sink = Arc::clone(&heard);
        let task = tokio::spawn(async move {
            while let Ok(notification) = listener.recv().await {
                let at = crate::cached::now_micros();
                let mut heard = sink.lock().unwrap_or_else(|e| e.into_inner());
                heard.push((notification.payload().to_owned(), at));
            }
        });
        Ok(Self { heard, task })
    }

    /// Streams the publication `publication` of the PostgreSQL database at `url` on a
    /// temporary slot of its own, keeping each message's bytes as text (a delete's carries the
    /// key).
    pub async fn logical(url: &str, publication: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(url)?;
        let slot = format!("authtoken_tap_{}", std::process::id());
        let config = ReplicationConfig::new(
            url.host_str().unwrap_or("127.0.0.1"),
            url.username(),
            url.password().unwrap_or_default(),
            url.path().trim_start_matches('/'),
            slot.as_str(),
            publication,
        )
        .with_port(url.port().unwrap_or(5432));
        let mut client = ReplicationClient::connect_gated(config).await?;
        client
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT {slot} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')"
            ))
            .await?;
        client.start().await?;
        client.wait_started().await?;
        let heard: Arc<Mutex<Vec<(String, u128)>>> = Arc::default();
        let sink = Arc::clone(&heard);
        let task = tokio::spawn(async move {
            while let Ok(Some(event)) = client.recv().await {
                if let ReplicationEvent::XLogData { data, .. } = event {
                    let at = crate::cached::now_micros();
                    let mut heard = sink.lock().unwrap_or_else(|e| e.into_inner());
                    heard.push((String::from_utf8_lossy(&data).into_owned(), at));
                }
            }
        });
        Ok(Self { heard, task })
    }

    /// Forgets what was heard.
    pub fn clear(&self) {
        self.heard.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// When a message naming `key` (a stored key) was first heard, in µs since the epoch.
    fn heard(&self, key: &str) -> Option<u128> {
        let heard = self.heard.lock().unwrap_or_else(|e| e.into_inner());
        heard.iter().find(|(payload, _)| payload.contains(key)).map(|(_, at)| *at)
    }

    /// [`heard`](Self::heard), waiting up to 10 s for the message (the bare listener may be
    /// behind the cache's own).
    pub async fn wait_for(&self, key: &str) -> anyhow::Result<u128> {
        for _ in 0..10_000 {
            if let Some(at) = self.heard(key) {
                return Ok(at);
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        anyhow::bail!("the bare listener never heard the revocation")
    }
}

impl Drop for ChannelTap {
    fn drop(&mut self) {
        self.task.abort();
    }
}
