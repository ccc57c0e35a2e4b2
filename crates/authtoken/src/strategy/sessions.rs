//! "Where you're signed in": a user's live sessions, ending one, ending all the others.

use crate::observe::{Operation, Outcome};
use crate::session::{Session, SessionId};
use crate::store::{AccessToken, ListTokens};
use crate::token::{StorageMode, StoredKey};
use crate::{Result, User};

use super::DatabaseStrategy;

/// The sessions of a user, read, ended one by one or all but one. Each ending goes through the
/// store's owner-checked delete, so it reaches every cache through the store's revocation
/// channel like any logout.
///
/// ```
/// use std::time::Duration;
/// use authtoken::memory::MemoryStore;
/// use authtoken::{DatabaseStrategy, User};
///
/// struct Account { id: u64 }
/// impl User for Account {
///     type Id = u64;
///     fn id(&self) -> &u64 { &self.id }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> authtoken::Result<()> {
/// let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;
/// let alice = Account { id: 1 };
/// let laptop = strategy.write_token(&alice).await?;
/// let phone = strategy.write_token(&alice).await?;
///
/// // The laptop's page lists both, its own marked current.
/// let sessions = strategy.list_sessions(&alice, Some(laptop.expose_secret())).await?;
/// assert_eq!(sessions.len(), 2);
/// let other = sessions.iter().find(|s| !s.current).unwrap();
///
/// // "Sign out this one": the phone's token stops working.
/// assert!(strategy.end_session(&alice, other.id.as_str()).await?);
/// assert!(strategy.read_token_row(phone.expose_secret()).await?.is_none());
/// assert!(strategy.read_token_row(laptop.expose_secret()).await?.is_some());
/// # Ok(())
/// # }
/// ```
impl<S: ListTokens> DatabaseStrategy<S> {
    /// `user`'s live sessions, most recently active first. `current` is the token of the request
    /// asking, if any: its session is marked [`current`](Session::current).
    pub async fn list_sessions<U: User<Id = S::UserId>>(
        &self,
        user: &U,
        current: Option<&str>,
    ) -> Result<Vec<Session>> {
        let op = Operation::start::<S>("list_sessions");
        op.user(user.id());
        let current = self.current_keys(current);
        let work = async {
            let rows = self.store.list_of_user(user.id()).await?;
            let live = self.liveness();
            let hashed = self.mode == StorageMode::Hashed;
            let mut sessions: Vec<Session> = rows
                .into_iter()
                .filter(|row| row.user_id == *user.id() && live.is_live(row))
                // A row dated in the future was written by hand: it authenticates nobody.
                .filter(|row| !(hashed && live.is_dated_in_the_future(row)))
                .map(|row| {
                    let is_current = is_kept(&row, &current);
                    let ends = self.row_expires_at(&row);
                    Session::of_row(row, ends, is_current)
                })
                .collect();
            // Most recently active first; the id only makes the order total.
            sessions.sort_by(|a, b| {
                b.last_seen_at
                    .cmp(&a.last_seen_at)
                    .then(b.created_at.cmp(&a.created_at))
                    .then_with(|| a.id.as_str().cmp(b.id.as_str()))
            });
            Ok(sessions)
        };
        op.run(work, |_| Outcome::Authenticated).await
    }

    /// Ends `user`'s session `id` ("sign out this one"); `false` when `user` has no session of
    /// that id, whether it never existed or belongs to someone else (a caller answers both the
    /// same, so ids cannot be probed). A malformed id is `false` without a query.
    pub async fn end_session<U: User<Id = S::UserId>>(&self, user: &U, id: &str) -> Result<bool> {
        let Some(id) = SessionId::parse(id) else {
            Operation::refused_early("end_session", Outcome::Malformed);
            return Ok(false);
        };
        let op = Operation::start::<S>("end_session");
        op.user(user.id());
        let work = async {
            let rows = self.store.list_of_user(user.id()).await?;
            let found = rows.into_iter().find(|row| SessionId::of_key(&row.token) == id);
            match found {
                // The delete checks the owner again: a row of another user is never touched.
                Some(row) => self.store.delete(&row.token, user.id()).await,
                None => Ok(false),
            }
        };
        op.run(work, |ended| if *ended { Outcome::Revoked } else { Outcome::NothingRevoked }).await
    }

    /// Ends every session of `user` but the one of `current` (the token of the request asking):
    /// "sign out everywhere else". Returns how many ended. A `current` that cannot be a token
    /// ends nothing: the caller meant to keep a session it does not hold.
    ///
    /// A login that lands while this runs may survive it: it is newer than the request.
    pub async fn end_other_sessions<U: User<Id = S::UserId>>(
        &self,
        user: &U,
        current: &str,
    ) -> Result<u64> {
        let keep = self.current_keys(Some(current));
        if keep.is_empty() {
            Operation::refused_early("end_other_sessions", Outcome::Malformed);
            return Ok(0);
        }
        let op = Operation::start::<S>("end_other_sessions");
        op.user(user.id());
        let work = async {
            let rows = self.store.list_of_user(user.id()).await?;
            let mut ended = 0;
            for row in rows.iter().filter(|row| !is_kept(row, &keep)) {
                ended += u64::from(self.store.delete(&row.token, user.id()).await?);
            }
            Ok(ended)
        };
        let ended = op
            .run(work, |ended| if *ended > 0 { Outcome::Revoked } else { Outcome::NothingRevoked });
        let ended = ended.await?;
        op.deleted(ended);
        Ok(ended)
    }

    /// The keys the session of `token` may be stored under; none for no token or a malformed
    /// one.
    fn current_keys(&self, token: Option<&str>) -> Vec<StoredKey> {
        match self.shape(token) {
            Ok(token) => self.stored_keys(token).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Whether `row` is the session kept (stored under one of `keep`).
fn is_kept<Id>(row: &AccessToken<Id>, keep: &[StoredKey]) -> bool {
    keep.iter().any(|key| key.as_str() == row.token)
}
