//! Where a read finds the owner of a token: a [`UserLoader`] or the store's joined read.

use std::future::Future;

use crate::store::{AccessToken, AccessTokenStore, JoinedUserStore};
use crate::{Error, Result, User, UserLoader};

/// The owner a [`UserSource`] fetched beside a token's row.
#[derive(Debug)]
pub enum FetchedOwner<U> {
    /// Read in the same query (`None`: the user no longer exists).
    Joined(Option<U>),
    /// Not read yet: the strategy asks [`UserSource::load`] once the row is found live.
    Later,
}

/// A row a [`UserSource`] fetched, with its owner if read at once.
pub type Fetched<Id, U> = Option<(AccessToken<Id>, FetchedOwner<U>)>;

/// Where [`DatabaseStrategy::read_token`](crate::DatabaseStrategy::read_token) finds the user
/// a token belongs to: any [`UserLoader`] (the row, then its user: two queries, the second only
/// for a live token), or [`Joined`] (the store joins the row with its user: one query).
///
/// Implemented for every [`UserLoader`] and for [`Joined`]; an application has no reason to
/// implement it.
pub trait UserSource<S: AccessTokenStore, U: User<Id = S::UserId>>: Send + Sync {
    /// The row stored under `key`, with its owner if this source reads both at once.
    fn fetch(
        &self,
        store: &S,
        key: &str,
    ) -> impl Future<Output = Result<Fetched<S::UserId, U>>> + Send;

    /// The owner of a live row whose owner [`fetch`](Self::fetch) left for later.
    fn load(&self, id: &S::UserId) -> impl Future<Output = Result<Option<U>>> + Send;
}

impl<S, L> UserSource<S, L::User> for L
where
    S: AccessTokenStore,
    L: UserLoader,
    L::User: User<Id = S::UserId>,
{
    async fn fetch(&self, store: &S, key: &str) -> Result<Fetched<S::UserId, L::User>> {
        Ok(store.get(key).await?.map(|row| (row, FetchedOwner::Later)))
    }

    async fn load(&self, id: &S::UserId) -> Result<Option<L::User>> {
        self.load_user(id).await.map_err(Error::UserLoader)
    }
}

/// The store's joined read as the [`UserSource`]: a token's row and its user in one query, on a
/// store that implements [`JoinedUserStore`] (the SeaORM and Diesel stores over an entity or
/// table that names its user).
///
/// ```
/// use authtoken::{DatabaseStrategy, Joined, JoinedUserStore, User};
///
/// struct Account { id: u64 }
/// impl User for Account {
///     type Id = u64;
///     fn id(&self) -> &u64 { &self.id }
/// }
///
/// /// The user behind `token`, in one query.
/// async fn current<S>(strategy: &DatabaseStrategy<S>, token: &str) -> authtoken::Result<Option<Account>>
/// where
///     S: JoinedUserStore<Account, UserId = u64>,
/// {
///     Ok(strategy.read_token(token, &Joined).await?.map(|(user, _row)| user))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Joined;

impl<S, U> UserSource<S, U> for Joined
where
    S: JoinedUserStore<U>,
    U: User<Id = S::UserId>,
{
    async fn fetch(&self, store: &S, key: &str) -> Result<Fetched<S::UserId, U>> {
        Ok(store.get_with_user(key).await?.map(|(row, user)| (row, FetchedOwner::Joined(user))))
    }

    async fn load(&self, _id: &S::UserId) -> Result<Option<U>> {
        // Every row this source fetches comes with its owner.
        Ok(None)
    }
}
