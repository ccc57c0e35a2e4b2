//! Issuing tokens: the row, its key, its binding, and the per-user limit.

use chrono::{DateTime, SubsecRound, Utc};

use crate::issue::IssueOptions;
use crate::observe::{Operation, Outcome};
use crate::row_binding::BoundExpiry;
use crate::store::{AccessToken, AccessTokenStore, TokenDetails};
use crate::token::{PlaintextToken, StorageMode, StoredKey};
use crate::{Error, Result, User};

use super::{DatabaseStrategy, checked_lifetime};

impl<S: AccessTokenStore> DatabaseStrategy<S> {
    /// Issues a new token for `user`: stores its row and returns the plaintext, once.
    pub async fn write_token<U: User<Id = S::UserId>>(&self, user: &U) -> Result<PlaintextToken> {
        self.issue_token(user, &IssueOptions::default()).await
    }

    /// Issues a token with [`IssueOptions`]: its own lifetime, a name, scopes (an API token for
    /// a script, beside login sessions). Each option needs its column in the store
    /// ([`AccessTokenStore::columns`]); asking for one the store would drop is an
    /// [`Error::Config`], never a silently plainer token.
    ///
    /// ```
    /// # async fn run() -> authtoken::Result<()> {
    /// use std::time::Duration;
    /// use authtoken::memory::MemoryStore;
    /// use authtoken::{DatabaseStrategy, IssueOptions, User};
    ///
    /// struct Bot { id: u64 }
    /// impl User for Bot {
    ///     type Id = u64;
    ///     fn id(&self) -> &u64 { &self.id }
    /// }
    ///
    /// let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?;
    /// let alice = Bot { id: 1 };
    /// let options = IssueOptions::new().name("CI").scopes(["deploy"]).lifetime(Duration::from_secs(90 * 86400));
    /// let token = strategy.issue_token(&alice, &options).await?;
    /// let row = strategy.read_token_row(token.expose_secret()).await?.unwrap();
    /// assert_eq!(row.details.name.as_deref(), Some("CI"));
    /// assert_eq!(row.details.scopes, ["deploy"]);
    /// # Ok(()) }
    /// ```
    pub async fn issue_token<U: User<Id = S::UserId>>(
        &self,
        user: &U,
        options: &IssueOptions,
    ) -> Result<PlaintextToken> {
        self.issue_keyed(user.id(), options).await.map(|(token, _)| token)
    }

    /// [`issue_token`](Self::issue_token) for the user `owner`, with the key the row was stored
    /// under (what a refresh family records of its access tokens).
    pub(crate) async fn issue_keyed(
        &self,
        owner: &S::UserId,
        options: &IssueOptions,
    ) -> Result<(PlaintextToken, String)> {
        let op = Operation::start::<S>("write_token");
        op.user(owner);
        self.check_format()?;
        let details = self.details_for(options)?;
        // A bound row's times are whole seconds, which every store keeps exactly (a column
        // without fractions rounds, which would break the tag half the time).
        let created_at = match self.binding_keys() {
            Some(_) => self.now().trunc_subsecs(0),
            None => self.now(),
        };
        let mut row = AccessToken::new(String::new(), owner.clone(), created_at);
        let expires_at = match options.lifetime {
            Some(lifetime) => Some(
                created_at
                    .checked_add_signed(checked_lifetime(lifetime)?)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
            None => match self.sliding {
                // The first stretch of a sliding session: `idle`, within the cap.
                Some((idle, cap)) => created_at.checked_add_signed(idle.min(cap)),
                None => self.expires_at(created_at),
            },
        };
        row.details = details;
        // Only a token of its own lifetime records its expiry: a plain login follows the
        // strategy's lifetime, as it always has (change the lifetime, and sessions follow).
        if options.lifetime.is_some() || self.sliding.is_some() {
            row.details.expires_at = expires_at;
        }
        if self.binding_keys().is_some() {
            row.details.expires_at = row.details.expires_at.map(|at| at.trunc_subsecs(0));
        }
        let sliding_session = self.sliding.is_some() && options.lifetime.is_none();
        let token = self.mint_for(&row, sliding_session)?;
        let key = self.new_key(token.expose_secret());
        op.key(key.as_str(), self.mode == StorageMode::Hashed);
        row.token = key.as_str().to_owned();
        let stored = row.token.clone();
        match self.limit {
            None => op.run(self.store.create(row, expires_at), |_| Outcome::Issued).await?,
            Some((limit, create)) => {
                let created = create(&self.store, row, expires_at, limit, self.liveness());
                let evicted = op.run(created, |_| Outcome::Issued).await?;
                if !evicted.is_empty() {
                    op.deleted(evicted.len() as u64);
                    tracing::debug!(
                        evicted = evicted.len(),
                        "authtoken: revoked the oldest tokens past the per-user limit"
                    );
                }
            }
        }
        Ok((token, stored))
    }

    /// A new token: random, or with bound rows random and tagged with `row`'s fields.
    pub(super) fn mint_for(
        &self,
        row: &AccessToken<S::UserId>,
        sliding: bool,
    ) -> Result<PlaintextToken> {
        let Some(keys) = self.binding_keys() else {
            return self.format.mint();
        };
        let mut random = [0u8; crate::row_binding::RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|e| Error::Random(e.to_string()))?;
        let expiry = match sliding {
            true => BoundExpiry::Sliding,
            false => BoundExpiry::Fixed(row.details.expires_at),
        };
        let bytes = crate::row_binding::bound_token_bytes(keys, random, row, expiry);
        Ok(self.format.mint_from(&bytes))
    }

    /// The details a row gets for `options`, or why the store cannot keep them.
    pub(super) fn details_for(&self, options: &IssueOptions) -> Result<TokenDetails> {
        let columns = self.store.columns();
        let missing = [
            (
                options.lifetime.is_some() && !columns.expires_at,
                "a token of its own lifetime needs the token table's `expires_at` column",
            ),
            (
                options.name.is_some() && !columns.name,
                "a named token needs the token table's `name` column",
            ),
            (
                !options.scopes.is_empty() && !columns.scopes,
                "a scoped token needs the token table's `scopes` column",
            ),
        ];
        if let Some((_, message)) = missing.iter().find(|(missing, _)| *missing) {
            return Err(Error::Config(message));
        }
        if !options.name_is_valid() {
            return Err(Error::Config(
                "a token's name is 1 to 255 characters without control characters",
            ));
        }
        if !options.scopes_are_valid() {
            return Err(Error::Config(
                "a scope is 1 to 128 printable ASCII characters without spaces, commas, quotes or backslashes",
            ));
        }
        // The client is informational: a store without its columns issues the token without it.
        let client = columns.client.then_some(&options.client);
        Ok(TokenDetails {
            name: options.name.clone(),
            scopes: options.scopes.clone(),
            user_agent: client.and_then(|c| c.user_agent_text().map(str::to_owned)),
            address: client.and_then(|c| c.address_text()),
            ..TokenDetails::default()
        })
    }

    /// The row key a newly issued token gets: under the current hash key, if there are keys.
    pub(super) fn new_key(&self, token: &str) -> StoredKey {
        match (&self.hash_keys, self.mode) {
            (Some(keys), StorageMode::Hashed) => keys
                .digests(token)
                .next()
                .map_or_else(|| self.mode.stored_key(token), StoredKey::of_digest),
            _ => self.mode.stored_key(token),
        }
    }
}
