//! One replication connection at a time: a temporary slot, the stream, what it says applied to
//! the cache; on any failure the cache stops serving and a new connection starts over.

use std::time::Duration;

use authtoken::cache::{Revocation, RevocationSink};
use authtoken::{Error, Result};
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent};
use tokio::sync::watch;

use super::pgoutput::{Change, Decoder};
use crate::revocations::postgres::{Pending, Wiring, heartbeat_arrived};

/// Where and as whom the replication connection logs in.
pub(super) struct Login {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: String,
    pub(super) database: String,
}

/// What the stream proves the cache with, and tells it.
pub(super) struct Proofs {
    pub(super) wiring: Wiring,
    pub(super) sink: RevocationSink,
    /// The prefix of this process's heartbeats.
    pub(super) ping_prefix: String,
    /// The prefix of published revocations (the publication's name, the trigger's channel).
    pub(super) channel: String,
    pub(super) pending: Pending,
    /// How long a healthy stream is never silent.
    pub(super) silence: Duration,
}

/// The replication stream of one process, reconnecting until the task is aborted.
pub(super) struct Stream {
    login: Login,
    publication: String,
    decoder: Decoder,
    proofs: Proofs,
}

/// How long a login may take before the channel gives up on it.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);

impl Stream {
    pub(super) fn new(login: Login, publication: String, decoder: Decoder, proofs: Proofs) -> Self {
        Self { login, publication, decoder, proofs }
    }

    fn config(&self, slot: &str) -> ReplicationConfig {
        ReplicationConfig::new(
            self.login.host.clone(),
            self.login.user.clone(),
            self.login.password.clone(),
            self.login.database.clone(),
            slot,
            self.publication.clone(),
        )
        .with_port(self.login.port)
        .with_application_name("authtoken-revocations")
        // Feedback keeps the slot from holding WAL back; every second is plenty.
        .with_status_interval(Duration::from_secs(1))
    }

    /// Logs in once and asks the server who it is: a wrong password or a role without
    /// `REPLICATION` fails here, at start.
    pub(super) async fn check_login(&self) -> Result<()> {
        let mut client = ReplicationClient::connect_gated(self.config("authtoken_login_check"))
            .await
            .map_err(Error::store)?;
        let identified = tokio::time::timeout(LOGIN_TIMEOUT, client.identify_system()).await;
        client.abort();
        match identified {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(Error::store(format!(
                "the logical revocation channel cannot log in for replication (a role with \
                 REPLICATION, a pg_hba.conf `replication` line and the password are needed): \
                 {error}"
            ))),
            Err(_) => Err(Error::store("the replication login did not answer within 10 s")),
        }
    }

    /// Streams, reconnecting after any failure, until `stop` says `true`; then closes its
    /// connection (and so its slot) before returning.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let retry = self.proofs.silence / 4;
        loop {
            self.proofs.sink.withdraw();
            let ended = self.session(&mut stop).await;
            self.proofs.sink.withdraw();
            if *stop.borrow() {
                return;
            }
            match ended {
                Ok(()) => tracing::warn!("authtoken: revocation stream ended; reconnecting"),
                Err(error) => tracing::warn!(
                    error = %error,
                    "authtoken: revocation stream failed; the cache serves no hits until it is back"
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(retry) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One connection: its slot, the wiring check, then the stream until it fails or falls
    /// silent.
    async fn session(&mut self, stop: &mut watch::Receiver<bool>) -> Result<()> {
        let slot = format!("authtoken_{}", uuid::Uuid::new_v4().simple());
        let mut client =
            ReplicationClient::connect_gated(self.config(&slot)).await.map_err(Error::store)?;
        let streamed = tokio::select! {
            streamed = self.stream(&mut client, &slot) => streamed,
            _ = stop.changed() => Ok(()),
        };
        // Ends the connection now, with its slot, rather than in the background.
        let _ = tokio::time::timeout(LOGIN_TIMEOUT, client.shutdown()).await;
        streamed
    }

    async fn stream(&mut self, client: &mut ReplicationClient, slot: &str) -> Result<()> {
        // A temporary slot: the server drops it when this connection ends, however it ends. It
        // starts at the log's current end once the transactions running now have finished (a
        // long one delays it: the cache serves nothing meanwhile).
        client
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT {slot} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')"
            ))
            .await
            .map_err(Error::store)?;
        // The publication may have gone while we were away: no proof until it is seen again.
        if !self.proofs.wiring.check().await? {
            return Err(Error::Config("the revocation publication is missing or incomplete"));
        }
        client.start().await.map_err(Error::store)?;
        client.wait_started().await.map_err(Error::store)?;
        // Whatever was deleted before the slot began is not in the stream: start from nothing.
        self.proofs.sink.resubscribed();
        loop {
            let event = match tokio::time::timeout(self.proofs.silence, client.recv()).await {
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(error)) => return Err(Error::store(error)),
                Err(_) => return Err(Error::store("the revocation stream fell silent")),
            };
            self.handle(event, client).await?;
        }
    }

    async fn handle(&mut self, event: ReplicationEvent, client: &ReplicationClient) -> Result<()> {
        match event {
            ReplicationEvent::XLogData { data, .. } => {
                let change = self.decoder.read(&data).map_err(|malformed| {
                    Error::store(format!("unreadable revocation stream: {}", malformed.0))
                })?;
                let revocation = match change {
                    Change::Deleted(key) => Revocation::Tokens(vec![key]),
                    Change::DeletedUnknown | Change::Truncated => Revocation::All,
                    Change::Other => return Ok(()),
                };
                self.proofs.sink.apply(&revocation).await;
            }
            ReplicationEvent::Message { prefix, content, .. } => {
                let Ok(content) = std::str::from_utf8(&content) else { return Ok(()) };
                if prefix == self.proofs.ping_prefix {
                    if let Some(sent) = heartbeat_arrived(&self.proofs.pending, content)
                        && self.proofs.wiring.is_wired()
                    {
                        self.proofs.sink.caught_up_to(sent);
                    }
                } else if prefix == self.proofs.channel
                    && let Some(revocation) = Revocation::from_message(content)
                {
                    self.proofs.sink.apply(&revocation).await;
                }
            }
            ReplicationEvent::Commit { end_lsn, .. } => acknowledge(client, end_lsn),
            ReplicationEvent::KeepAlive { wal_end, .. } => acknowledge(client, wal_end),
            _ => {}
        }
        Ok(())
    }
}

/// Everything up to `lsn` has been applied: the slot may let that WAL go.
fn acknowledge(client: &ReplicationClient, lsn: Lsn) {
    client.update_applied_lsn(lsn);
}
